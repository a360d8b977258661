//! `hubble observe agent-events` and `debug-events` in each output format.

use std::{
    fmt::Write as _,
    io::{self, Write},
};

use super::{
    Format, TimeFormat, gojson, names, style::Style, tabwriter::TabWriter, time::write_time,
};
use crate::proto::{
    flow::{
        AgentEvent, AgentEventType, DebugEventType, Endpoint, ServiceUpsertNotificationAddr,
        agent_event::Notification,
    },
    observer::{GetAgentEventsResponse, GetDebugEventsResponse},
};

/// Hubble's dict separator; for events it is written without a newline,
/// so the next record starts on the same line.
const DICT_SEPARATOR: &str = "------------";

/// Writes agent or debug events one by one, as Hubble's printer does.
pub struct EventPrinter<W: Write> {
    format: Format,
    time_format: TimeFormat,
    node_name: bool,
    records: u64,
    table: Option<TabWriter>,
    out: W,
}

impl<W: Write> EventPrinter<W> {
    pub fn new(format: Format, time_format: TimeFormat, node_name: bool, out: W) -> Self {
        Self {
            format,
            time_format,
            node_name,
            records: 0,
            table: (format == Format::Table).then(TabWriter::new),
            out,
        }
    }

    /// Writes one agent event.
    pub fn write_agent_event(&mut self, response: &GetAgentEventsResponse) -> io::Result<()> {
        let Some(event) = &response.agent_event else {
            return Err(io::Error::other("not an agent event"));
        };
        if self.format == Format::Json {
            return gojson::write_line(&mut self.out, response);
        }
        let mut time = String::new();
        write_time(&mut time, response.time.as_ref(), self.time_format);
        let mut kind = String::new();
        let known = AgentEventType::try_from(event.r#type).ok();
        names::write_enum(&mut kind, known.map(|t| t.as_str_name()), event.r#type);
        let details = agent_event_details(event, self.time_format);
        let node = &response.node_name;
        let mut text = String::new();
        match self.format {
            Format::Dict => {
                if self.records > 0 {
                    text.push_str(DICT_SEPARATOR);
                }
                let _ = writeln!(text, "  TIMESTAMP: {time}");
                if self.node_name {
                    let _ = writeln!(text, "       NODE: {node}");
                }
                let _ = write!(text, "       TYPE: {kind}\n    DETAILS: {details}\n");
            }
            Format::Table => {
                if self.records == 0 {
                    text.push_str("TIMESTAMP\t");
                    if self.node_name {
                        text.push_str("NODE\t");
                    }
                    text.push_str("TYPE\tDETAILS\n");
                }
                let _ = write!(text, "{time}\t");
                if self.node_name {
                    let _ = write!(text, "{node}\t");
                }
                let _ = writeln!(text, "{kind}\t{details}");
            }
            Format::Compact | Format::Json => {
                text.push_str(&time);
                if self.node_name {
                    let _ = write!(text, " [{node}]");
                }
                let _ = writeln!(text, ": {kind} ({details})");
            }
        }
        self.emit(&text)
    }

    /// Writes one debug event.
    pub fn write_debug_event(&mut self, response: &GetDebugEventsResponse) -> io::Result<()> {
        let Some(event) = &response.debug_event else {
            return Err(io::Error::other("not a debug event"));
        };
        if self.format == Format::Json {
            return gojson::write_line(&mut self.out, response);
        }
        let mut time = String::new();
        write_time(&mut time, response.time.as_ref(), self.time_format);
        let mut kind = String::new();
        let known = DebugEventType::try_from(event.r#type).ok();
        names::write_enum(&mut kind, known.map(|t| t.as_str_name()), event.r#type);
        let from = endpoint_short(event.source.as_ref());
        let mark = event
            .hash
            .as_ref()
            .map_or_else(|| "N/A".to_owned(), |hash| format!("0x{:x}", hash.value));
        let cpu = event
            .cpu
            .as_ref()
            .map_or_else(|| "N/A".to_owned(), |cpu| format!("{:02}", cpu.value));
        let message = &event.message;
        let node = &response.node_name;
        let mut text = String::new();
        match self.format {
            Format::Dict => {
                if self.records > 0 {
                    text.push_str(DICT_SEPARATOR);
                }
                let _ = writeln!(text, "  TIMESTAMP: {time}");
                if self.node_name {
                    let _ = writeln!(text, "       NODE: {node}");
                }
                let _ = write!(
                    text,
                    "       TYPE: {kind}\n       FROM: {from}\n       MARK: {mark}\n        \
                     CPU: {cpu}\n    MESSAGE: {message}\n"
                );
            }
            Format::Table => {
                if self.records == 0 {
                    text.push_str("TIMESTAMP\t");
                    if self.node_name {
                        text.push_str("NODE\t");
                    }
                    text.push_str("FROM\t\tTYPE\tCPU/MARK\tMESSAGE\n");
                }
                let _ = write!(text, "{time}\t");
                if self.node_name {
                    let _ = write!(text, "{node}\t");
                }
                let _ = writeln!(text, "{from}\t\t{kind}\t{cpu} {mark}\t{message}");
            }
            Format::Compact | Format::Json => {
                text.push_str(&time);
                if self.node_name {
                    let _ = write!(text, " [{node}]");
                }
                let _ = writeln!(text, ": {from} {kind} MARK: {mark} CPU: {cpu} ({message})");
            }
        }
        self.emit(&text)
    }

    fn emit(&mut self, text: &str) -> io::Result<()> {
        self.records += 1;
        let style = Style { color: false };
        match &mut self.table {
            Some(table) => {
                let mut escaped = Vec::with_capacity(text.len());
                style.write_escaped(&mut escaped, text)?;
                table.write(&mut self.out, &escaped)
            }
            None => style.write_escaped(&mut self.out, text),
        }
    }

    /// Flushes buffered output, so that events show while the stream idles.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Ends the output: the table is aligned and written here.
    pub fn finish(mut self) -> io::Result<()> {
        if let Some(table) = &mut self.table {
            table.flush(&mut self.out)?;
        }
        self.out.flush()
    }
}

/// The DETAILS of an agent event, or `UNKNOWN` when the notification does
/// not match the type. Service notifications are deprecated in the API, but
/// older agents still send them and Hubble still prints them.
#[allow(deprecated)]
fn agent_event_details(event: &AgentEvent, time_format: TimeFormat) -> String {
    use AgentEventType as T;
    let mut out = String::new();
    let kind = AgentEventType::try_from(event.r#type).unwrap_or(T::AgentEventUnknown);
    let known_type = AgentEventType::try_from(event.r#type).is_ok();
    match (kind, &event.notification) {
        (T::AgentEventUnknown, Some(Notification::Unknown(unknown))) if known_type => {
            let _ = write!(
                out,
                "type: {}, notification: {}",
                unknown.r#type, unknown.notification
            );
        }
        (T::AgentStarted, Some(Notification::AgentStart(start))) => {
            out.push_str("start time: ");
            write_time(&mut out, start.time.as_ref(), time_format);
        }
        (T::PolicyUpdated | T::PolicyDeleted, Some(Notification::PolicyUpdate(policy))) => {
            let _ = write!(
                out,
                "labels: [{}], revision: {}, count: {}",
                policy.labels.join(","),
                policy.revision,
                policy.rule_count
            );
        }
        (
            T::EndpointRegenerateSuccess | T::EndpointRegenerateFailure,
            Some(Notification::EndpointRegenerate(regen)),
        ) => {
            let _ = write!(
                out,
                "id: {}, labels: [{}]",
                regen.id,
                regen.labels.join(",")
            );
            if !regen.error.is_empty() {
                let _ = write!(out, ", error: {}", regen.error);
            }
        }
        (T::EndpointCreated | T::EndpointDeleted, Some(Notification::EndpointUpdate(update))) => {
            let _ = write!(out, "id: {}", update.id);
            if !update.namespace.is_empty() {
                let _ = write!(out, ", namespace: {}", update.namespace);
            }
            if !update.pod_name.is_empty() {
                let _ = write!(out, ", pod name: {}", update.pod_name);
            }
        }
        (T::IpcacheUpserted | T::IpcacheDeleted, Some(Notification::IpcacheUpdate(ipcache))) => {
            let _ = write!(
                out,
                "cidr: {}, identity: {}",
                ipcache.cidr, ipcache.identity
            );
            if let Some(old) = &ipcache.old_identity {
                let _ = write!(out, ", old identity: {}", old.value);
            }
            if !ipcache.host_ip.is_empty() {
                let _ = write!(out, ", host ip: {}", ipcache.host_ip);
            }
            if !ipcache.old_host_ip.is_empty() {
                let _ = write!(out, ", old host ip: {}", ipcache.old_host_ip);
            }
            let _ = write!(out, ", encrypt key: {}", ipcache.encrypt_key);
        }
        (T::ServiceUpserted, Some(Notification::ServiceUpsert(service))) => {
            let _ = write!(out, "id: {}", service.id);
            if let Some(frontend) = &service.frontend_address {
                let _ = write!(out, ", frontend: {}", service_address(frontend));
            }
            if !service.backend_addresses.is_empty() {
                let backends: Vec<String> = service
                    .backend_addresses
                    .iter()
                    .map(service_address)
                    .collect();
                let _ = write!(out, ", backends: [{}]", backends.join(","));
            }
            for (label, value) in [
                ("type", &service.r#type),
                ("traffic policy", &service.traffic_policy),
                ("namespace", &service.namespace),
                ("name", &service.name),
            ] {
                if !value.is_empty() {
                    let _ = write!(out, ", {label}: {value}");
                }
            }
        }
        (T::ServiceDeleted, Some(Notification::ServiceDelete(service))) => {
            let _ = write!(out, "id: {}", service.id);
        }
        _ => out.push_str("UNKNOWN"),
    }
    out
}

/// `ip:port`, with brackets around IPv6 addresses (Go's JoinHostPort).
fn service_address(address: &ServiceUpsertNotificationAddr) -> String {
    if address.ip.contains(':') {
        format!("[{}]:{}", address.ip, address.port)
    } else {
        format!("{}:{}", address.ip, address.port)
    }
}

/// `ns/pod (ID: n)`, `reserved:x (ID: n)` or `ID: n`.
fn endpoint_short(endpoint: Option<&Endpoint>) -> String {
    let Some(endpoint) = endpoint else {
        return "N/A".to_owned();
    };
    let id = format!("ID: {}", endpoint.id);
    if !endpoint.namespace.is_empty() && !endpoint.pod_name.is_empty() {
        format!("{}/{} ({id})", endpoint.namespace, endpoint.pod_name)
    } else if let [label] = endpoint.labels.as_slice()
        && label.starts_with("reserved:")
    {
        format!("{label} ({id})")
    } else {
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::flow::PolicyUpdateNotification;

    #[test]
    fn details_need_the_notification_of_the_type() {
        let mut event = AgentEvent {
            r#type: AgentEventType::PolicyUpdated as i32,
            notification: Some(Notification::PolicyUpdate(PolicyUpdateNotification {
                labels: vec!["a=b".into(), "c=d".into()],
                revision: 7,
                rule_count: 2,
            })),
        };
        assert_eq!(
            agent_event_details(&event, TimeFormat::StampMilli),
            "labels: [a=b,c=d], revision: 7, count: 2"
        );
        event.r#type = AgentEventType::AgentStarted as i32;
        assert_eq!(
            agent_event_details(&event, TimeFormat::StampMilli),
            "UNKNOWN"
        );
    }

    #[test]
    fn endpoints_are_shortened_as_hubble_does() {
        assert_eq!(endpoint_short(None), "N/A");
        let pod = Endpoint {
            id: 12,
            namespace: "ns".into(),
            pod_name: "pod".into(),
            ..Default::default()
        };
        assert_eq!(endpoint_short(Some(&pod)), "ns/pod (ID: 12)");
        let host = Endpoint {
            id: 1,
            labels: vec!["reserved:host".into()],
            ..Default::default()
        };
        assert_eq!(endpoint_short(Some(&host)), "reserved:host (ID: 1)");
    }
}
