//! Field masks: a relay sends only the flow fields a request asks for
//! (`--field-mask`, or the default mask of compact, dict and table output),
//! which is much less to encode, send and decode.

use tonic::Status;

use crate::proto::flow::{Endpoint, Flow};

/// A request's field mask, checked once: top-level flow fields, or one
/// field of the source or destination endpoint.
pub struct FieldMask {
    paths: Vec<(String, Option<String>)>,
}

impl FieldMask {
    /// Checks the paths against Flow's fields; `None` keeps every field.
    pub fn new(paths: &[String]) -> Result<Option<Self>, Status> {
        if paths.is_empty() {
            return Ok(None);
        }
        let mut checked = Vec::with_capacity(paths.len());
        let probe = Flow::default();
        for path in paths {
            let (field, sub_field) = match path.split_once('.') {
                Some((field, sub)) => (field, Some(sub)),
                None => (path.as_str(), None),
            };
            let valid = match sub_field {
                None => copy_flow_field(&mut Flow::default(), &probe, field),
                Some(sub) => {
                    matches!(field, "source" | "destination")
                        && copy_endpoint_field(&mut Endpoint::default(), &Endpoint::default(), sub)
                }
            };
            if !valid {
                return Err(Status::invalid_argument(format!(
                    "invalid field mask path {path:?} for message flow.Flow"
                )));
            }
            checked.push((field.to_owned(), sub_field.map(str::to_owned)));
        }
        Ok(Some(Self { paths: checked }))
    }

    /// The masked copy of `flow`.
    pub fn apply(&self, flow: &Flow) -> Flow {
        let mut masked = Flow::default();
        for (field, sub_field) in &self.paths {
            match sub_field {
                None => {
                    copy_flow_field(&mut masked, flow, field);
                }
                Some(sub) => {
                    let (from, to) = match field.as_str() {
                        "source" => (&flow.source, &mut masked.source),
                        _ => (&flow.destination, &mut masked.destination),
                    };
                    if let Some(from) = from {
                        copy_endpoint_field(to.get_or_insert_with(Endpoint::default), from, sub);
                    }
                }
            }
        }
        masked
    }
}

/// Copies the flow field named `name` (its proto name); false if there is
/// no such field. Every arm has the same shape, Copy field or not.
#[allow(deprecated, clippy::clone_on_copy)]
fn copy_flow_field(to: &mut Flow, from: &Flow, name: &str) -> bool {
    match name {
        "time" => to.time = from.time.clone(),
        "uuid" => to.uuid = from.uuid.clone(),
        "emitter" => to.emitter = from.emitter.clone(),
        "verdict" => to.verdict = from.verdict.clone(),
        "drop_reason" => to.drop_reason = from.drop_reason.clone(),
        "auth_type" => to.auth_type = from.auth_type.clone(),
        "ethernet" => to.ethernet = from.ethernet.clone(),
        "IP" => to.ip = from.ip.clone(),
        "l4" => to.l4 = from.l4.clone(),
        "tunnel" => to.tunnel = from.tunnel.clone(),
        "source" => to.source = from.source.clone(),
        "destination" => to.destination = from.destination.clone(),
        "Type" => to.r#type = from.r#type.clone(),
        "node_name" => to.node_name = from.node_name.clone(),
        "node_labels" => to.node_labels = from.node_labels.clone(),
        "source_names" => to.source_names = from.source_names.clone(),
        "destination_names" => to.destination_names = from.destination_names.clone(),
        "l7" => to.l7 = from.l7.clone(),
        "reply" => to.reply = from.reply.clone(),
        "event_type" => to.event_type = from.event_type.clone(),
        "source_service" => to.source_service = from.source_service.clone(),
        "destination_service" => to.destination_service = from.destination_service.clone(),
        "traffic_direction" => to.traffic_direction = from.traffic_direction.clone(),
        "policy_match_type" => to.policy_match_type = from.policy_match_type.clone(),
        "trace_observation_point" => {
            to.trace_observation_point = from.trace_observation_point.clone()
        }
        "trace_reason" => to.trace_reason = from.trace_reason.clone(),
        "file" => to.file = from.file.clone(),
        "ip_trace_id" => to.ip_trace_id = from.ip_trace_id.clone(),
        "drop_reason_desc" => to.drop_reason_desc = from.drop_reason_desc.clone(),
        "is_reply" => to.is_reply = from.is_reply.clone(),
        "debug_capture_point" => to.debug_capture_point = from.debug_capture_point.clone(),
        "interface" => to.interface = from.interface.clone(),
        "proxy_port" => to.proxy_port = from.proxy_port.clone(),
        "trace_context" => to.trace_context = from.trace_context.clone(),
        "sock_xlate_point" => to.sock_xlate_point = from.sock_xlate_point.clone(),
        "socket_cookie" => to.socket_cookie = from.socket_cookie.clone(),
        "cgroup_id" => to.cgroup_id = from.cgroup_id.clone(),
        "Summary" => to.summary = from.summary.clone(),
        "extensions" => to.extensions = from.extensions.clone(),
        "egress_allowed_by" => to.egress_allowed_by = from.egress_allowed_by.clone(),
        "ingress_allowed_by" => to.ingress_allowed_by = from.ingress_allowed_by.clone(),
        "egress_denied_by" => to.egress_denied_by = from.egress_denied_by.clone(),
        "ingress_denied_by" => to.ingress_denied_by = from.ingress_denied_by.clone(),
        "policy_log" => to.policy_log = from.policy_log.clone(),
        "aggregate" => to.aggregate = from.aggregate.clone(),
        _ => return false,
    }
    true
}

/// Copies the endpoint field named `name`; false if there is no such field.
#[allow(clippy::clone_on_copy)]
fn copy_endpoint_field(to: &mut Endpoint, from: &Endpoint, name: &str) -> bool {
    match name {
        "ID" => to.id = from.id.clone(),
        "identity" => to.identity = from.identity.clone(),
        "cluster_name" => to.cluster_name = from.cluster_name.clone(),
        "namespace" => to.namespace = from.namespace.clone(),
        "labels" => to.labels = from.labels.clone(),
        "pod_name" => to.pod_name = from.pod_name.clone(),
        "workloads" => to.workloads = from.workloads.clone(),
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_masked_fields() {
        let flow: Flow = serde_json::from_str(
            r#"{"verdict":"DROPPED","node_name":"n1","uuid":"u",
                "source":{"identity":5,"namespace":"a","labels":["k8s:x=y"]}}"#,
        )
        .unwrap();
        let mask = FieldMask::new(&["verdict".into(), "source.identity".into()])
            .unwrap()
            .unwrap();
        let masked = mask.apply(&flow);
        assert_eq!(masked.verdict, flow.verdict);
        assert_eq!(masked.node_name, "");
        assert_eq!(masked.uuid, "");
        let source = masked.source.unwrap();
        assert_eq!(source.identity, 5);
        assert!(source.namespace.is_empty() && source.labels.is_empty());
    }

    #[test]
    fn unknown_paths_are_refused() {
        assert!(FieldMask::new(&["nope".into()]).is_err());
        assert!(FieldMask::new(&["source.nope".into()]).is_err());
        assert!(FieldMask::new(&["verdict.x".into()]).is_err());
        assert!(FieldMask::new(&[]).unwrap().is_none());
    }
}
