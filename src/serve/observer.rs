//! The Observer service of the replay relay.

use std::{pin::Pin, sync::Arc, time::Duration};

use bytes::{Bytes, BytesMut};
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::{Stream, wrappers::ReceiverStream};
use tonic::{Request, Response, Status};

use super::{
    capture::Capture,
    clock::ReplayClock,
    codec::{Encoded, Observer},
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
        },
        relay::NodeState,
    },
};

type Responses<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// Responses waiting for a slow client; beyond this the replay waits.
const CLIENT_QUEUE: usize = 256;

/// The capacity of a client's buffer of rewritten responses, which it
/// keeps when it must grow (see `BytesMut::reserve`): one allocation then
/// serves many responses.
const CLIENT_BUFFER: usize = 64 * 1024;

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
    /// Whether the request has filters: without, no flow is decoded.
    filtered: bool,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    mask: Option<FieldMask>,
}

impl Selection {
    fn in_range(&self, time: Option<Timestamp>) -> bool {
        let time = time.unwrap_or_default();
        self.since.is_none_or(|since| time >= since) && self.until.is_none_or(|until| time <= until)
    }

    /// Whether the stored flow `index` is selected.
    fn wants(&self, capture: &Capture, index: usize) -> Result<bool, Status> {
        if !self.in_range(capture.time(index)) {
            return Ok(false);
        }
        if !self.filtered {
            return Ok(true);
        }
        let response = capture.decode(index).map_err(internal)?;
        Ok(self.matcher.matches(&response))
    }

    /// Whether a response replayed with a new time is selected.
    fn wants_replayed(&self, response: &GetFlowsResponse) -> bool {
        self.in_range(response.time) && self.matcher.matches(response)
    }
}

fn internal(error: impl std::error::Error) -> Status {
    Status::internal(error.to_string())
}

/// Why a client's stream stops early.
enum Stop {
    /// The client went away.
    Gone,
    /// The relay failed; the client is told.
    Failed(Status),
}

impl From<Status> for Stop {
    fn from(status: Status) -> Self {
        Self::Failed(status)
    }
}

/// One client's stream: responses go out as stored, or rewritten into a
/// buffer of the client's own when a field mask or a new time needs it.
struct Client {
    sender: mpsc::Sender<Result<Encoded, Status>>,
    buffer: BytesMut,
    /// A replayed response before its mask is applied.
    scratch: Vec<u8>,
}

impl Client {
    fn new(sender: mpsc::Sender<Result<Encoded, Status>>) -> Self {
        Self {
            sender,
            buffer: BytesMut::with_capacity(CLIENT_BUFFER),
            scratch: Vec::new(),
        }
    }

    async fn send(&self, encoded: Bytes) -> Result<(), Stop> {
        self.sender
            .send(Ok(Encoded(encoded)))
            .await
            .map_err(|_| Stop::Gone)
    }

    /// Sends the stored response `index`, masked if it is a flow and the
    /// request has a mask.
    async fn send_stored(
        &mut self,
        capture: &Capture,
        selection: &Selection,
        index: usize,
    ) -> Result<(), Stop> {
        let stored = capture.encoded(index);
        let encoded = match &selection.mask {
            Some(mask) if capture.is_flow(index) => masked(&mut self.buffer, mask, &stored)?,
            _ => stored,
        };
        self.send(encoded).await
    }

    /// Sends a response made afresh.
    async fn send_new(
        &mut self,
        selection: &Selection,
        response: &GetFlowsResponse,
    ) -> Result<(), Stop> {
        let encoded = match &selection.mask {
            Some(mask) => {
                self.scratch.clear();
                response.encode_raw(&mut self.scratch);
                masked(&mut self.buffer, mask, &self.scratch)?
            }
            None => {
                self.buffer.reserve(response.encoded_len());
                response.encode_raw(&mut self.buffer);
                self.buffer.split().freeze()
            }
        };
        self.send(encoded).await
    }
}

/// `response` masked, in `buffer`'s memory.
fn masked(buffer: &mut BytesMut, mask: &FieldMask, response: &[u8]) -> Result<Bytes, Status> {
    // Masking never lengthens a response.
    buffer.reserve(response.len());
    mask.apply(response, buffer).map_err(internal)?;
    Ok(buffer.split().freeze())
}

#[tonic::async_trait]
impl Observer for ReplayObserver {
    type GetFlowsStream = Responses<Encoded>;
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
            filtered: !(request.whitelist.is_empty() && request.blacklist.is_empty()),
            since: request.since,
            until: request.until,
            mask: FieldMask::new(paths)?,
        };
        let (sender, receiver) = mpsc::channel(CLIENT_QUEUE);
        let capture = Arc::clone(&self.capture);
        let clock = Arc::clone(&self.clock);
        tokio::spawn(async move {
            let mut client = Client::new(sender);
            let mut sent = send_history(&capture, &request, &selection, &mut client).await;
            if sent.is_ok() && request.follow {
                sent = replay(&capture, &clock, &selection, &mut client).await;
            }
            if let Err(Stop::Failed(status)) = sent {
                let _ = client.sender.send(Err(status)).await;
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

/// Sends the stored responses the request selects: the first or last
/// `number` flows (all for 0 with a time range, or `u64::MAX`), none for a
/// bare follow.
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
    client: &mut Client,
) -> Result<(), Stop> {
    let ranged = request.since.is_some() || request.until.is_some();
    let number = request.number;
    if number == 0 && !ranged && request.follow {
        return Ok(());
    }
    let everything = number == u64::MAX || (number == 0 && (ranged || request.first));
    let keep = usize::try_from(number).unwrap_or(usize::MAX);
    if everything || request.first {
        // From the oldest response, up to the last of the first `number`
        // flows, or to the end.
        let limit = if everything { usize::MAX } else { keep };
        let mut flows = 0;
        for index in 0..capture.len() {
            if flows == limit {
                break;
            }
            if capture.is_flow(index) {
                if !selection.wants(capture, index)? {
                    continue;
                }
                flows += 1;
            } else if !selection.in_range(capture.time(index)) {
                continue;
            }
            client.send_stored(capture, selection, index).await?;
        }
        return Ok(());
    }
    if keep == 0 {
        return Ok(());
    }
    // From the first of the last `number` flows to the end: found from the
    // end, remembering which flows are selected so that none is judged
    // twice.
    let mut start = capture.len();
    let mut selected = Vec::new();
    let mut flows = 0;
    for index in (0..capture.len()).rev() {
        if flows == keep {
            break;
        }
        let wanted = capture.is_flow(index) && selection.wants(capture, index)?;
        selected.push(wanted);
        if wanted {
            flows += 1;
            start = index;
        }
    }
    selected.truncate(capture.len() - start);
    for (index, wanted) in (start..capture.len()).zip(selected.into_iter().rev()) {
        let send = if capture.is_flow(index) {
            wanted
        } else {
            selection.in_range(capture.time(index))
        };
        if send {
            client.send_stored(capture, selection, index).await?;
        }
    }
    Ok(())
}

/// Follows the replay from where it stands, with fresh timestamps, until
/// the client goes away: whatever is due is sent in one burst, then the
/// task sleeps until the next flow (at least a millisecond, as sleeping per
/// flow cannot reach high rates).
async fn replay(
    capture: &Capture,
    clock: &ReplayClock,
    selection: &Selection,
    client: &mut Client,
) -> Result<(), Stop> {
    if clock.is_empty() {
        // Nothing to replay: hold the stream open as a quiet relay would.
        client.sender.closed().await;
        return Ok(());
    }
    let mut next = clock.due(clock.elapsed());
    loop {
        let due = clock.due(clock.elapsed());
        while next < due {
            let mut response = capture.decode(clock.flow(next)).map_err(internal)?;
            next += 1;
            let now = Timestamp::from(chrono::Utc::now());
            response.time = Some(now);
            if let Some(ResponseTypes::Flow(flow)) = &mut response.response_types {
                flow.time = Some(now);
            }
            if selection.wants_replayed(&response) {
                client.send_new(selection, &response).await?;
            }
        }
        if client.sender.is_closed() {
            return Ok(());
        }
        let wait = clock.time_of(next) - clock.elapsed();
        tokio::time::sleep(Duration::from_secs_f64(wait.clamp(0.001, 3600.0))).await;
    }
}
