//! A relay for `scripts/follow-soak.sh`: flow `i` is observed at
//! `START + i / RATE` and made from its index alone, so that a relay killed
//! and started again (with the same START) holds the same buffer, as a
//! hubble-relay restarted in front of running agents does. It serves
//! GetFlows as the real server does (`since` inclusive, `number`,
//! `follow`), keeps the last WINDOW seconds of flows, and stops observing
//! after COUNT flows. Two flows share each timestamp, so a resumed stream
//! always starts with a flow printed already.
//!
//! `cargo run --release --example soak_relay -- ADDRESS START_UNIX_NANOS RATE COUNT WINDOW_SECONDS`
//!
//! Each flow's summary is `flow N`, which the script checks.

#[path = "../tests/support/paced.rs"]
mod paced;

use std::{
    env,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use hubl::proto::{
    Timestamp,
    flow::{Flow, Verdict},
    observer::{
        GetAgentEventsRequest, GetAgentEventsResponse, GetDebugEventsRequest,
        GetDebugEventsResponse, GetFlowsRequest, GetFlowsResponse, GetNamespacesRequest,
        GetNamespacesResponse, GetNodesRequest, GetNodesResponse, ServerStatusRequest,
        ServerStatusResponse,
        get_flows_response::ResponseTypes,
        observer_server::{Observer, ObserverServer},
    },
};
use tonic::{Request, Response, Status};

use paced::{Responses, paced};

struct Schedule {
    start_nanos: u128,
    rate: u64,
    count: u64,
    window: u64,
}

impl Schedule {
    /// Flows observed so far.
    fn observed(&self) -> u64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos();
        let elapsed = now.saturating_sub(self.start_nanos);
        ((elapsed * u128::from(self.rate) / 1_000_000_000) as u64).min(self.count)
    }

    /// When flow `index` was observed, in nanoseconds since 1970: pairs
    /// share a time.
    fn nanos(&self, index: u64) -> u128 {
        self.start_nanos + u128::from(index / 2 * 2) * 1_000_000_000 / u128::from(self.rate)
    }

    fn time(&self, index: u64) -> Timestamp {
        let nanos = self.nanos(index);
        Timestamp {
            seconds: (nanos / 1_000_000_000) as i64,
            nanos: (nanos % 1_000_000_000) as i32,
        }
    }

    /// The first flow at or after `since`.
    fn index_at(&self, since: Timestamp) -> u64 {
        let since = i128::from(since.seconds) * 1_000_000_000 + i128::from(since.nanos);
        let offset = since - self.start_nanos as i128;
        if offset <= 0 {
            return 0;
        }
        let mut index = (offset as u128 * u128::from(self.rate) / 1_000_000_000) as u64;
        index = index.saturating_sub(2);
        while (self.nanos(index) as i128) < since {
            index += 1;
        }
        index
    }

    fn flow(&self, index: u64) -> GetFlowsResponse {
        let time = self.time(index);
        let node = if index.is_multiple_of(3) {
            "node-a"
        } else {
            "node-b"
        };
        #[allow(deprecated, reason = "Summary is deprecated in the API")]
        let flow = Flow {
            time: Some(time),
            node_name: node.to_owned(),
            verdict: Verdict::Forwarded as i32,
            summary: format!("flow {index}"),
            ..Flow::default()
        };
        GetFlowsResponse {
            node_name: node.to_owned(),
            time: Some(time),
            response_types: Some(ResponseTypes::Flow(Box::new(flow))),
        }
    }
}

struct SoakObserver(Arc<Schedule>);

#[tonic::async_trait]
impl Observer for SoakObserver {
    type GetFlowsStream = Responses<GetFlowsResponse>;
    type GetAgentEventsStream = Responses<GetAgentEventsResponse>;
    type GetDebugEventsStream = Responses<GetDebugEventsResponse>;

    async fn get_flows(
        &self,
        request: Request<GetFlowsRequest>,
    ) -> Result<Response<Self::GetFlowsStream>, Status> {
        let request = request.into_inner();
        let schedule = &self.0;
        let observed = schedule.observed();
        let oldest = observed.saturating_sub(schedule.window * schedule.rate);
        let first = match request.since {
            Some(since) => schedule.index_at(since).max(oldest),
            None if request.number == 0 => observed,
            None => observed.saturating_sub(request.number).max(oldest),
        };
        let clock = Arc::clone(schedule);
        let flows = Arc::clone(schedule);
        Ok(Response::new(paced(
            first as usize,
            (!request.follow).then_some(observed as usize),
            move || clock.observed() as usize,
            move |index| Ok(flows.flow(index as u64)),
            std::future::pending(),
        )))
    }

    async fn get_agent_events(
        &self,
        _: Request<GetAgentEventsRequest>,
    ) -> Result<Response<Self::GetAgentEventsStream>, Status> {
        Err(Status::unimplemented("flows only"))
    }

    async fn get_debug_events(
        &self,
        _: Request<GetDebugEventsRequest>,
    ) -> Result<Response<Self::GetDebugEventsStream>, Status> {
        Err(Status::unimplemented("flows only"))
    }

    async fn get_nodes(
        &self,
        _: Request<GetNodesRequest>,
    ) -> Result<Response<GetNodesResponse>, Status> {
        Err(Status::unimplemented("flows only"))
    }

    async fn get_namespaces(
        &self,
        _: Request<GetNamespacesRequest>,
    ) -> Result<Response<GetNamespacesResponse>, Status> {
        Err(Status::unimplemented("flows only"))
    }

    async fn server_status(
        &self,
        _: Request<ServerStatusRequest>,
    ) -> Result<Response<ServerStatusResponse>, Status> {
        Err(Status::unimplemented("flows only"))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = env::args().skip(1).collect();
    let [address, start, rate, count, window] = args.as_slice() else {
        return Err("usage: soak_relay ADDRESS START_UNIX_NANOS RATE COUNT WINDOW_SECONDS".into());
    };
    let schedule = Schedule {
        start_nanos: start.parse()?,
        rate: rate.parse()?,
        count: count.parse()?,
        window: window.parse()?,
    };
    let listener = tokio::net::TcpListener::bind(address.as_str()).await?;
    tonic::transport::Server::builder()
        .add_service(ObserverServer::new(SoakObserver(Arc::new(schedule))))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
        .await?;
    Ok(())
}
