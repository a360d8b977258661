//! The Observer service of the replay relay.

use std::{pin::Pin, sync::Arc, time::Duration};

use tokio::sync::mpsc;
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status};

use super::{capture::Capture, clock::ReplayClock, mask::FieldMask};
use crate::{
    filter::FlowMatcher,
    proto::{
        Timestamp,
        observer::{
            GetAgentEventsRequest, GetAgentEventsResponse, GetDebugEventsRequest,
            GetDebugEventsResponse, GetFlowsRequest, GetFlowsResponse, GetNamespacesRequest,
            GetNamespacesResponse, GetNodesRequest, GetNodesResponse, Namespace, Node,
            ServerStatusRequest, ServerStatusResponse, Tls, get_flows_response::ResponseTypes,
            observer_server::Observer,
        },
        relay::NodeState,
    },
};

type Responses<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Responses waiting for a slow client; beyond this the replay waits.
const CLIENT_QUEUE: usize = 256;

/// Serves a capture as hubble-relay serves its buffer.
pub struct ReplayObserver {
    capture: Arc<Capture>,
    /// The one timeline every follower's replay and ServerStatus follow.
    clock: Arc<ReplayClock>,
    version: String,
}

impl ReplayObserver {
    pub fn new(capture: Arc<Capture>, rate: Option<u32>) -> Self {
        Self {
            clock: Arc::new(ReplayClock::new(&capture, rate)),
            capture,
            version: format!("hubl-relay v{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// The part of a GetFlows request that selects stored responses, and the
/// fields to send of each.
struct Selection {
    matcher: FlowMatcher,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    mask: Option<FieldMask>,
}

impl Selection {
    /// The response as the client asked for it.
    fn masked(&self, response: &GetFlowsResponse) -> GetFlowsResponse {
        match (&self.mask, &response.response_types) {
            (Some(mask), Some(ResponseTypes::Flow(flow))) => GetFlowsResponse {
                node_name: response.node_name.clone(),
                time: response.time,
                response_types: Some(ResponseTypes::Flow(Box::new(mask.apply(flow)))),
            },
            _ => response.clone(),
        }
    }
}

impl Selection {
    fn wants(&self, response: &GetFlowsResponse) -> bool {
        self.in_range(response) && self.matcher.matches(response)
    }

    fn in_range(&self, response: &GetFlowsResponse) -> bool {
        let time = response.time.unwrap_or_default();
        self.since.is_none_or(|since| time >= since) && self.until.is_none_or(|until| time <= until)
    }
}

#[tonic::async_trait]
impl Observer for ReplayObserver {
    type GetFlowsStream = Responses<GetFlowsResponse>;
    type GetAgentEventsStream = Responses<GetAgentEventsResponse>;
    type GetDebugEventsStream = Responses<GetDebugEventsResponse>;

    async fn get_flows(
        &self,
        request: Request<GetFlowsRequest>,
    ) -> Result<Response<Self::GetFlowsStream>, Status> {
        let request = request.into_inner();
        let matcher = FlowMatcher::new(&request.whitelist, &request.blacklist)
            .map_err(|error| Status::invalid_argument(error.to_string()))?;
        let paths = request
            .field_mask
            .as_ref()
            .map_or(&[][..], |mask| &mask.paths[..]);
        let selection = Selection {
            matcher,
            since: request.since,
            until: request.until,
            mask: FieldMask::new(paths)?,
        };
        let (sender, receiver) = mpsc::channel(CLIENT_QUEUE);
        let capture = Arc::clone(&self.capture);
        let clock = Arc::clone(&self.clock);
        tokio::spawn(async move {
            if send_history(&capture, &request, &selection, &sender)
                .await
                .is_err()
            {
                return;
            }
            if request.follow {
                replay(&clock, &selection, &sender).await;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }

    async fn get_agent_events(
        &self,
        request: Request<GetAgentEventsRequest>,
    ) -> Result<Response<Self::GetAgentEventsStream>, Status> {
        // A capture of flows holds no agent events; followers wait.
        Ok(Response::new(empty_stream(request.into_inner().follow)))
    }

    async fn get_debug_events(
        &self,
        request: Request<GetDebugEventsRequest>,
    ) -> Result<Response<Self::GetDebugEventsStream>, Status> {
        Ok(Response::new(empty_stream(request.into_inner().follow)))
    }

    async fn get_nodes(
        &self,
        _: Request<GetNodesRequest>,
    ) -> Result<Response<GetNodesResponse>, Status> {
        let nodes = self.capture.nodes.len().max(1) as u64;
        let per_node = self.capture.flow_count() / nodes;
        let seen_per_node = self.seen_flows() / nodes;
        let nodes = self
            .capture
            .nodes
            .iter()
            .map(|name| Node {
                name: name.clone(),
                version: self.version.clone(),
                address: "127.0.0.1:4244".into(),
                state: NodeState::NodeConnected as i32,
                tls: Some(Tls {
                    enabled: false,
                    server_name: String::new(),
                }),
                uptime_ns: self.uptime_ns(),
                num_flows: per_node,
                max_flows: per_node,
                seen_flows: seen_per_node,
            })
            .collect();
        Ok(Response::new(GetNodesResponse { nodes }))
    }

    async fn get_namespaces(
        &self,
        _: Request<GetNamespacesRequest>,
    ) -> Result<Response<GetNamespacesResponse>, Status> {
        let namespaces = self
            .capture
            .namespaces
            .iter()
            .map(|(cluster, namespace)| Namespace {
                cluster: cluster.clone(),
                namespace: namespace.clone(),
            })
            .collect();
        Ok(Response::new(GetNamespacesResponse { namespaces }))
    }

    async fn server_status(
        &self,
        _: Request<ServerStatusRequest>,
    ) -> Result<Response<ServerStatusResponse>, Status> {
        let flows = self.capture.flow_count();
        let nodes = self.capture.nodes.len() as u32;
        Ok(Response::new(ServerStatusResponse {
            num_flows: flows,
            max_flows: flows,
            seen_flows: self.seen_flows(),
            uptime_ns: self.uptime_ns(),
            num_connected_nodes: Some(pbjson_types::UInt32Value { value: nodes }),
            num_unavailable_nodes: Some(pbjson_types::UInt32Value { value: 0 }),
            unavailable_nodes: Vec::new(),
            version: self.version.clone(),
            flows_rate: self.clock.rate(),
        }))
    }
}

impl ReplayObserver {
    /// The capture, seen once, and every flow replayed since the start.
    fn seen_flows(&self) -> u64 {
        self.capture
            .flow_count()
            .saturating_add(self.clock.due(self.clock.elapsed()))
    }

    /// Up since the capture's history began, at the replay's pace.
    fn uptime_ns(&self) -> u64 {
        let seconds = self.clock.history_seconds() + self.clock.elapsed();
        Duration::try_from_secs_f64(seconds).map_or(u64::MAX, |uptime| {
            u64::try_from(uptime.as_nanos()).unwrap_or(u64::MAX)
        })
    }
}

fn empty_stream<T: Send + 'static>(follow: bool) -> Responses<T> {
    if follow {
        Box::pin(tokio_stream::pending())
    } else {
        Box::pin(tokio_stream::empty())
    }
}

/// The stored responses the request selects: the first or last `number`
/// flows (all for 0 with a time range, or `u64::MAX`), none for a bare
/// follow.
///
/// As a relay's agents read their ring buffer, only flows count towards
/// `number` and only flows meet the FlowFilters: the node status and lost
/// events of the capture between the first and the last flow read are sent
/// too, in their place, whatever the filters (a relay never filters its
/// own node status), within the time range.
async fn send_history(
    capture: &Capture,
    request: &GetFlowsRequest,
    selection: &Selection,
    sender: &mpsc::Sender<Result<GetFlowsResponse, Status>>,
) -> Result<(), ()> {
    for response in history(capture, request, selection) {
        send(sender, selection, response).await?;
    }
    Ok(())
}

fn history<'a>(
    capture: &'a Capture,
    request: &GetFlowsRequest,
    selection: &Selection,
) -> Vec<&'a GetFlowsResponse> {
    let ranged = request.since.is_some() || request.until.is_some();
    let number = request.number;
    if number == 0 && !ranged && request.follow {
        return Vec::new();
    }
    let everything = number == u64::MAX || (number == 0 && (ranged || request.first));
    let responses = &capture.responses;
    let flows: Vec<usize> = (0..responses.len())
        .filter(|&i| is_flow(&responses[i]) && selection.wants(&responses[i]))
        .collect();
    let keep = usize::try_from(number).unwrap_or(usize::MAX);
    // The stretch of the capture read: from the oldest response, or from
    // the first of the last `number` flows; up to the last of the first
    // `number` flows, or to the end.
    let (start, end) = if everything {
        (0, responses.len())
    } else if request.first {
        let end = match keep.checked_sub(1).and_then(|last| flows.get(last)) {
            Some(&last) => last + 1,
            None if keep == 0 => 0,
            None => responses.len(),
        };
        (0, end)
    } else if keep == 0 {
        (0, 0)
    } else {
        let start = flows
            .get(flows.len().saturating_sub(keep))
            .copied()
            .unwrap_or(responses.len());
        (start, responses.len())
    };
    responses[start..end]
        .iter()
        .map(|response| response.as_ref())
        .filter(|response| {
            if is_flow(response) {
                selection.wants(response)
            } else {
                selection.in_range(response)
            }
        })
        .collect()
}

fn is_flow(response: &GetFlowsResponse) -> bool {
    matches!(response.response_types, Some(ResponseTypes::Flow(_)))
}

async fn send(
    sender: &mpsc::Sender<Result<GetFlowsResponse, Status>>,
    selection: &Selection,
    response: &GetFlowsResponse,
) -> Result<(), ()> {
    sender
        .send(Ok(selection.masked(response)))
        .await
        .map_err(|_| ())
}

/// Follows the replay from where it stands, with fresh timestamps, until
/// the client goes away: whatever is due is sent in one burst, then the
/// task sleeps until the next flow (at least a millisecond, as sleeping per
/// flow cannot reach high rates).
async fn replay(
    clock: &ReplayClock,
    selection: &Selection,
    sender: &mpsc::Sender<Result<GetFlowsResponse, Status>>,
) {
    if clock.is_empty() {
        // Nothing to replay: hold the stream open as a quiet relay would.
        sender.closed().await;
        return;
    }
    let mut next = clock.due(clock.elapsed());
    loop {
        let due = clock.due(clock.elapsed());
        while next < due {
            let mut response = clock.flow(next).clone();
            next += 1;
            let now = Timestamp::from(chrono::Utc::now());
            response.time = Some(now);
            if let Some(ResponseTypes::Flow(flow)) = &mut response.response_types {
                flow.time = Some(now);
            }
            if selection.wants(&response)
                && sender.send(Ok(selection.masked(&response))).await.is_err()
            {
                return;
            }
        }
        if sender.is_closed() {
            return;
        }
        let wait = clock.time_of(next) - clock.elapsed();
        tokio::time::sleep(Duration::from_secs_f64(wait.clamp(0.001, 3600.0))).await;
    }
}
