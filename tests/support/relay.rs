//! An in-process fake hubble-relay: a tonic `Observer` server on
//! 127.0.0.1:0 that records every GetFlowsRequest and answers with the
//! responses it was given, optionally ending the stream with an error.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Instant,
};

use hubl::proto::observer::{
    GetAgentEventsRequest, GetAgentEventsResponse, GetDebugEventsRequest, GetDebugEventsResponse,
    GetFlowsRequest, GetFlowsResponse, GetNamespacesRequest, GetNamespacesResponse,
    GetNodesRequest, GetNodesResponse, ServerStatusRequest, ServerStatusResponse,
    observer_server::{Observer, ObserverServer},
};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

use super::paced::{Responses, paced};

/// What the fake relay answers to GetFlows.
#[derive(Clone, Default)]
pub struct Script {
    pub responses: Vec<GetFlowsResponse>,
    /// Sent after the responses, ending the stream with an error.
    pub error: Option<Status>,
    /// Keep the stream open after the responses, as `--follow` does.
    pub hold_open: bool,
    /// Send the responses one at a time, this far apart, as a live stream.
    pub pace: Option<std::time::Duration>,
    /// Response headers (name, value) of every GetFlows stream, such as a
    /// relay's version.
    pub headers: Vec<(&'static str, &'static str)>,
}

/// The responses of a jsonpb capture, as a relay would stream them; lines
/// that do not decode are left out, as `--input-file` skips them.
pub fn responses_of(capture: &[u8]) -> Vec<GetFlowsResponse> {
    String::from_utf8_lossy(capture)
        .lines()
        .filter_map(|line| serde_json::from_str(line.trim_end_matches('\r')).ok())
        .collect()
}

/// A running fake relay.
pub struct FakeRelay {
    pub address: SocketAddr,
    requests: Arc<Mutex<Vec<GetFlowsRequest>>>,
    /// Serves until the relay is dropped.
    _runtime: tokio::runtime::Runtime,
}

impl FakeRelay {
    /// Starts serving `script` on a free loopback port, on a runtime of its
    /// own so that tests can run the hubl binary synchronously.
    pub fn start(script: Script) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let service = FakeObserver {
            script,
            requests: Arc::clone(&requests),
        };
        let address = runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a loopback port");
            let address = listener.local_addr().expect("a bound address");
            tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(ObserverServer::new(service))
                    .serve_with_incoming(TcpListenerStream::new(listener)),
            );
            address
        });
        Self {
            address,
            requests,
            _runtime: runtime,
        }
    }

    /// `--server` value for this relay.
    pub fn server(&self) -> String {
        self.address.to_string()
    }

    /// Every GetFlowsRequest received so far.
    pub fn requests(&self) -> Vec<GetFlowsRequest> {
        self.requests
            .lock()
            .expect("no test panicked holding it")
            .clone()
    }
}

struct FakeObserver {
    script: Script,
    requests: Arc<Mutex<Vec<GetFlowsRequest>>>,
}

#[tonic::async_trait]
impl Observer for FakeObserver {
    type GetFlowsStream = Responses<GetFlowsResponse>;
    type GetAgentEventsStream = Responses<GetAgentEventsResponse>;
    type GetDebugEventsStream = Responses<GetDebugEventsResponse>;

    async fn get_flows(
        &self,
        request: Request<GetFlowsRequest>,
    ) -> Result<Response<Self::GetFlowsStream>, Status> {
        self.requests
            .lock()
            .expect("no test panicked holding it")
            .push(request.into_inner());
        let items: Vec<Result<GetFlowsResponse, Status>> = self
            .script
            .responses
            .iter()
            .cloned()
            .map(Ok)
            .chain(self.script.error.clone().map(Err))
            .collect();
        let (count, pace, opened) = (items.len(), self.script.pace, Instant::now());
        let mut response: Response<Self::GetFlowsStream> = Response::new(paced(
            0,
            (!self.script.hold_open).then_some(count),
            move || match pace {
                Some(pace) => {
                    ((opened.elapsed().as_nanos() / pace.as_nanos().max(1)) as usize).min(count)
                }
                None => count,
            },
            move |index| items[index].clone(),
            std::future::pending(),
        ));
        for (name, value) in &self.script.headers {
            response
                .metadata_mut()
                .insert(*name, value.parse().expect("an ASCII header value"));
        }
        Ok(response)
    }

    async fn get_agent_events(
        &self,
        _: Request<GetAgentEventsRequest>,
    ) -> Result<Response<Self::GetAgentEventsStream>, Status> {
        Err(Status::unimplemented("not in the fake relay"))
    }

    async fn get_debug_events(
        &self,
        _: Request<GetDebugEventsRequest>,
    ) -> Result<Response<Self::GetDebugEventsStream>, Status> {
        Err(Status::unimplemented("not in the fake relay"))
    }

    async fn get_nodes(
        &self,
        _: Request<GetNodesRequest>,
    ) -> Result<Response<GetNodesResponse>, Status> {
        Err(Status::unimplemented("not in the fake relay"))
    }

    async fn get_namespaces(
        &self,
        _: Request<GetNamespacesRequest>,
    ) -> Result<Response<GetNamespacesResponse>, Status> {
        Err(Status::unimplemented("not in the fake relay"))
    }

    async fn server_status(
        &self,
        _: Request<ServerStatusRequest>,
    ) -> Result<Response<ServerStatusResponse>, Status> {
        Err(Status::unimplemented("not in the fake relay"))
    }
}
