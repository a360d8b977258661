//! The Observer service of the replay relay.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tokio::sync::mpsc;
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status};

use super::{
    capture::{Capture, gap_seconds},
    mask::FieldMask,
};
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

/// The longest pause between two flows when replaying at recorded pace, so
/// that a capture with gaps still shows life.
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// Serves a capture as hubble-relay serves its buffer.
pub struct ReplayObserver {
    capture: Arc<Capture>,
    /// Flows per second for `follow`, or the recorded pace when `None`.
    rate: Option<u32>,
    started: Instant,
    /// Flows replayed to followers, for `seen_flows`.
    replayed: Arc<AtomicU64>,
    version: String,
}

impl ReplayObserver {
    pub fn new(capture: Arc<Capture>, rate: Option<u32>) -> Self {
        Self {
            capture,
            rate,
            started: Instant::now(),
            replayed: Arc::new(AtomicU64::new(0)),
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
        let rate = self.rate;
        let replayed = Arc::clone(&self.replayed);
        tokio::spawn(async move {
            if send_history(&capture, &request, &selection, &sender)
                .await
                .is_err()
            {
                return;
            }
            if request.follow {
                replay(&capture, &selection, rate, &replayed, &sender).await;
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
        let flows = self.capture.flow_count();
        let per_node = flows / self.capture.nodes.len().max(1) as u64;
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
                seen_flows: per_node,
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
            seen_flows: flows + self.replayed.load(Ordering::Relaxed),
            uptime_ns: self.uptime_ns(),
            num_connected_nodes: Some(pbjson_types::UInt32Value { value: nodes }),
            num_unavailable_nodes: Some(pbjson_types::UInt32Value { value: 0 }),
            unavailable_nodes: Vec::new(),
            version: self.version.clone(),
            flows_rate: self.capture.flows_rate,
        }))
    }
}

impl ReplayObserver {
    fn uptime_ns(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX)
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

/// Replays the capture's flows forever with fresh timestamps, at the
/// recorded pace or at `rate` flows per second, until the client goes away.
async fn replay(
    capture: &Capture,
    selection: &Selection,
    rate: Option<u32>,
    replayed: &AtomicU64,
    sender: &mpsc::Sender<Result<GetFlowsResponse, Status>>,
) {
    let flows: Vec<&GetFlowsResponse> = capture
        .responses
        .iter()
        .map(|r| r.as_ref())
        .filter(|r| matches!(r.response_types, Some(ResponseTypes::Flow(_))))
        .collect();
    if flows.is_empty() {
        // Nothing to replay: hold the stream open as a quiet relay would.
        sender.closed().await;
        return;
    }
    let started = Instant::now();
    let mut previous_time: Option<Timestamp> = None;
    for (sent, original) in (0_u64..).zip(flows.iter().cycle()) {
        match rate {
            Some(rate) => {
                // Send in bursts of whatever is due, checking about every
                // millisecond: sleeping per flow cannot reach high rates.
                let due = (started.elapsed().as_secs_f64() * f64::from(rate)) as u64;
                if sent >= due {
                    let wait = Duration::from_secs_f64((sent + 1 - due) as f64 / f64::from(rate));
                    tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
                }
            }
            None => {
                if let (Some(previous), Some(time)) = (previous_time, original.time) {
                    let gap = gap_seconds(previous, time);
                    if gap > 0.0 {
                        tokio::time::sleep(Duration::from_secs_f64(gap).min(MAX_PAUSE)).await;
                    }
                }
                previous_time = original.time;
            }
        }
        let mut response = (*original).clone();
        let now = Timestamp::from(chrono::Utc::now());
        response.time = Some(now);
        if let Some(ResponseTypes::Flow(flow)) = &mut response.response_types {
            flow.time = Some(now);
        }
        if !selection.wants(&response) {
            if sender.is_closed() {
                return;
            }
            continue;
        }
        replayed.fetch_add(1, Ordering::Relaxed);
        if sender.send(Ok(selection.masked(&response))).await.is_err() {
            return;
        }
    }
}
