//! A relay whose buffer outlives it, for testing `--follow` through
//! restarts. A real hubble-relay asks the agents, whose ring buffers keep
//! the flows while the relay is down; here a `Timeline` plays the agents: a
//! fixed list of flows with pre-computed times, observed one by one on a
//! schedule that keeps running while the relay is killed, restarted or
//! cutting streams. GetFlows, GetAgentEvents and GetDebugEvents answer as
//! the real servers
//! do: `since` (inclusive), `number`, `follow`.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use hubl::proto::{
    Timestamp,
    flow::{AgentEvent, AgentEventType, DebugEvent, DebugEventType, Flow, Verdict},
    observer::{
        GetAgentEventsRequest, GetAgentEventsResponse, GetDebugEventsRequest,
        GetDebugEventsResponse, GetFlowsRequest, GetFlowsResponse, GetNamespacesRequest,
        GetNamespacesResponse, GetNodesRequest, GetNodesResponse, ServerStatusRequest,
        ServerStatusResponse,
        get_flows_response::ResponseTypes,
        observer_server::{Observer, ObserverServer},
    },
};
use tokio::sync::watch;
use tokio_stream::wrappers::{TcpListenerStream, UnixListenerStream};
use tonic::{
    Request, Response, Status,
    transport::{Identity, Server, ServerTlsConfig},
};

use super::{
    pki::Pki,
    support::paced::{Responses, paced},
};

/// The flows the agents observe, and when.
pub struct Timeline {
    flows: Vec<GetFlowsResponse>,
    /// Flows before this are in the buffer from the start.
    history: usize,
    /// The others are observed from `start + delay`, one per `interval`.
    start: Instant,
    delay: Duration,
    interval: Duration,
}

impl Timeline {
    /// `count` flows, `history` of them buffered already, the rest observed
    /// one per `interval` after `delay`. Two flows share each timestamp
    /// (from two nodes, or the same node), so that a stream resumed at a
    /// time holds flows printed and flows not yet printed; flows 100 and
    /// 101 are the same flow seen twice, to be printed twice.
    pub fn new(count: usize, history: usize, delay: Duration, interval: Duration) -> Arc<Self> {
        let flows = (0..count)
            .map(|index| {
                let pair = index / 2;
                let time = Timestamp {
                    seconds: 1_700_000_000 + (pair / 1000) as i64,
                    nanos: (pair % 1000) as i32 * 1_000_000,
                };
                let node = if index % 4 == 1 && index != 101 {
                    "node-b"
                } else {
                    "node-a"
                };
                let summary = if index == 101 {
                    "flow 100".to_owned()
                } else {
                    format!("flow {index}")
                };
                #[allow(deprecated, reason = "Summary is deprecated in the API")]
                let flow = Flow {
                    time: Some(time),
                    node_name: node.to_owned(),
                    verdict: Verdict::Forwarded as i32,
                    summary,
                    ..Flow::default()
                };
                GetFlowsResponse {
                    node_name: node.to_owned(),
                    time: Some(time),
                    response_types: Some(ResponseTypes::Flow(Box::new(flow))),
                }
            })
            .collect();
        Arc::new(Self {
            flows,
            history,
            start: Instant::now(),
            delay,
            interval,
        })
    }

    /// Every flow, in the order observed.
    pub fn flows(&self) -> &[GetFlowsResponse] {
        &self.flows
    }

    /// How many flows are in the buffer now.
    pub fn observed(&self) -> usize {
        let elapsed = self.start.elapsed();
        if elapsed < self.delay {
            return self.history.min(self.flows.len());
        }
        let live = ((elapsed - self.delay).as_nanos() / self.interval.as_nanos().max(1)) as usize;
        (self.history + live + 1).min(self.flows.len())
    }

    /// Where a request's answer starts in the buffer of `observed` flows.
    fn first_index(&self, since: Option<Timestamp>, number: u64, observed: usize) -> usize {
        let from = match since {
            Some(since) => self.flows[..observed]
                .iter()
                .position(|flow| flow.time.is_some_and(|time| time >= since))
                .unwrap_or(observed),
            None if number == 0 => observed,
            None => 0,
        };
        let number = usize::try_from(number).unwrap_or(usize::MAX);
        if number > 0 && number < observed - from {
            observed - number
        } else {
            from
        }
    }
}

/// An agent event made of a flow: the same node and time.
pub fn agent_event(flow: &GetFlowsResponse) -> GetAgentEventsResponse {
    GetAgentEventsResponse {
        agent_event: Some(AgentEvent {
            r#type: AgentEventType::EndpointRegenerateSuccess as i32,
            notification: None,
        }),
        node_name: flow.node_name.clone(),
        time: flow.time,
    }
}

/// A debug event made of a flow: the same node and time, and its summary.
pub fn debug_event(flow: &GetFlowsResponse) -> GetDebugEventsResponse {
    #[allow(deprecated, reason = "Summary is deprecated in the API")]
    let message = match &flow.response_types {
        Some(ResponseTypes::Flow(flow)) => flow.summary.clone(),
        _ => String::new(),
    };
    GetDebugEventsResponse {
        debug_event: Some(DebugEvent {
            r#type: DebugEventType::DbgGeneric as i32,
            message,
            ..DebugEvent::default()
        }),
        node_name: flow.node_name.clone(),
        time: flow.time,
    }
}

/// Where the relay listens.
#[derive(Clone)]
pub enum Listen {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// Faults and security of one run of the relay.
#[derive(Clone, Default)]
pub struct Behaviour {
    /// End each stream with UNAVAILABLE after this many responses.
    pub cut_every: Option<usize>,
    /// Serve TLS with this PKI's server certificate.
    pub tls: Option<Arc<Pki>>,
    /// Require these basic auth credentials.
    pub basic_auth: Option<(String, String)>,
}

/// A relay serving a timeline; it can be killed and started again on the
/// same address, with the same buffer.
pub struct BufferedRelay {
    pub listen: Listen,
    timeline: Arc<Timeline>,
    requests: Arc<Mutex<Vec<GetFlowsRequest>>>,
    running: Option<Running>,
}

struct Running {
    runtime: tokio::runtime::Runtime,
    stopping: watch::Sender<bool>,
    served: tokio::task::JoinHandle<()>,
}

impl BufferedRelay {
    /// Serves `timeline` on `listen` (port 0 picks a free one).
    pub fn start(timeline: Arc<Timeline>, listen: Listen, behaviour: Behaviour) -> Self {
        let mut relay = Self {
            listen,
            timeline,
            requests: Arc::new(Mutex::new(Vec::new())),
            running: None,
        };
        relay.restart(behaviour);
        relay
    }

    /// `--server` value for this relay.
    pub fn server(&self) -> String {
        match &self.listen {
            Listen::Tcp(address) => address.to_string(),
            Listen::Unix(path) => format!("unix://{}", path.display()),
        }
    }

    /// Every GetFlowsRequest received so far.
    pub fn requests(&self) -> Vec<GetFlowsRequest> {
        self.requests.lock().expect("not poisoned").clone()
    }

    /// Stops at once, as a killed process does: connections are dropped
    /// without a word.
    pub fn kill(&mut self) {
        if let Some(running) = self.running.take() {
            // Waits for the listener and connections to be closed, so that
            // the address can be bound again.
            running.runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }

    /// Stops as a relay being shut down does: streams end without an
    /// error, the server says GOAWAY and closes.
    pub fn go_away(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stopping.send(true);
            let _ = running.runtime.block_on(running.served);
            running.runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }

    /// Starts again on the same address (after `kill` or `go_away`).
    pub fn restart(&mut self, behaviour: Behaviour) {
        self.kill();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let (stopping, stopped) = watch::channel(false);
        let service = BufferedObserver {
            timeline: Arc::clone(&self.timeline),
            requests: Arc::clone(&self.requests),
            cut_every: behaviour.cut_every,
            stopping: stopped.clone(),
        };
        let mut builder = Server::builder();
        if let Some(pki) = &behaviour.tls {
            let tls = ServerTlsConfig::new()
                .identity(Identity::from_pem(&pki.server_cert, &pki.server_key));
            builder = builder.tls_config(tls).expect("a TLS server config");
        }
        let expected = behaviour.basic_auth.map(|(user, password)| {
            use base64::Engine;
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {token}")
        });
        let check = move |request: Request<()>| -> Result<Request<()>, Status> {
            let Some(expected) = &expected else {
                return Ok(request);
            };
            let given = request
                .metadata()
                .get("authorization")
                .and_then(|value| value.to_str().ok());
            if given == Some(expected.as_str()) {
                Ok(request)
            } else {
                Err(Status::unauthenticated("invalid credentials"))
            }
        };
        let router = builder
            .layer(tonic::service::InterceptorLayer::new(check))
            .add_service(ObserverServer::new(service));
        let shutdown = async move {
            let mut stopped = stopped;
            let _ = stopped.wait_for(|stop| *stop).await;
        };
        let (listen, served) = runtime.block_on(async {
            match &self.listen {
                Listen::Tcp(address) => {
                    let listener = bind(*address).await;
                    let address = listener.local_addr().expect("a bound address");
                    let served = tokio::spawn(async move {
                        let _ = router
                            .serve_with_incoming_shutdown(
                                TcpListenerStream::new(listener),
                                shutdown,
                            )
                            .await;
                    });
                    (Listen::Tcp(address), served)
                }
                Listen::Unix(path) => {
                    let _ = std::fs::remove_file(path);
                    let listener =
                        tokio::net::UnixListener::bind(path).expect("the relay's socket binds");
                    let served = tokio::spawn(async move {
                        let _ = router
                            .serve_with_incoming_shutdown(
                                UnixListenerStream::new(listener),
                                shutdown,
                            )
                            .await;
                    });
                    (Listen::Unix(path.clone()), served)
                }
            }
        });
        self.listen = listen;
        self.running = Some(Running {
            runtime,
            stopping,
            served,
        });
    }
}

/// Binds `address`, waiting a little for a previous run's sockets to go.
async fn bind(address: SocketAddr) -> tokio::net::TcpListener {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::net::TcpListener::bind(address).await {
            Ok(listener) => return listener,
            Err(error) if Instant::now() < deadline => {
                assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse, "{error}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => panic!("cannot bind the relay's address {address} again: {error}"),
        }
    }
}

impl Drop for BufferedRelay {
    fn drop(&mut self) {
        self.kill();
    }
}

struct BufferedObserver {
    timeline: Arc<Timeline>,
    requests: Arc<Mutex<Vec<GetFlowsRequest>>>,
    cut_every: Option<usize>,
    stopping: watch::Receiver<bool>,
}

impl BufferedObserver {
    /// The buffered responses from `since` or the last `number`, then,
    /// when following, each flow as it is observed.
    fn stream<T: Send + 'static>(
        &self,
        since: Option<Timestamp>,
        number: u64,
        follow: bool,
        make: fn(&GetFlowsResponse) -> T,
    ) -> Responses<T> {
        let observed = self.timeline.observed();
        let first = self.timeline.first_index(since, number, observed);
        let clock = Arc::clone(&self.timeline);
        let timeline = Arc::clone(&self.timeline);
        let cut_every = self.cut_every;
        let mut sent = 0;
        let mut stopping = self.stopping.clone();
        paced(
            first,
            (!follow).then_some(observed),
            move || clock.observed(),
            move |index| {
                if cut_every == Some(sent) {
                    return Err(Status::unavailable("the test relay cuts the stream"));
                }
                sent += 1;
                Ok(make(&timeline.flows[index]))
            },
            async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            },
        )
    }
}

#[tonic::async_trait]
impl Observer for BufferedObserver {
    type GetFlowsStream = Responses<GetFlowsResponse>;
    type GetAgentEventsStream = Responses<GetAgentEventsResponse>;
    type GetDebugEventsStream = Responses<GetDebugEventsResponse>;

    async fn get_flows(
        &self,
        request: Request<GetFlowsRequest>,
    ) -> Result<Response<Self::GetFlowsStream>, Status> {
        let request = request.into_inner();
        self.requests
            .lock()
            .expect("not poisoned")
            .push(request.clone());
        Ok(Response::new(self.stream(
            request.since,
            request.number,
            request.follow,
            GetFlowsResponse::clone,
        )))
    }

    async fn get_agent_events(
        &self,
        request: Request<GetAgentEventsRequest>,
    ) -> Result<Response<Self::GetAgentEventsStream>, Status> {
        let request = request.into_inner();
        Ok(Response::new(self.stream(
            request.since,
            request.number,
            request.follow,
            agent_event,
        )))
    }

    async fn get_debug_events(
        &self,
        request: Request<GetDebugEventsRequest>,
    ) -> Result<Response<Self::GetDebugEventsStream>, Status> {
        let request = request.into_inner();
        Ok(Response::new(self.stream(
            request.since,
            request.number,
            request.follow,
            debug_event,
        )))
    }

    async fn get_nodes(
        &self,
        _: Request<GetNodesRequest>,
    ) -> Result<Response<GetNodesResponse>, Status> {
        Err(Status::unimplemented("not in the buffered relay"))
    }

    async fn get_namespaces(
        &self,
        _: Request<GetNamespacesRequest>,
    ) -> Result<Response<GetNamespacesResponse>, Status> {
        Err(Status::unimplemented("not in the buffered relay"))
    }

    async fn server_status(
        &self,
        _: Request<ServerStatusRequest>,
    ) -> Result<Response<ServerStatusResponse>, Status> {
        Err(Status::unimplemented("not in the buffered relay"))
    }
}
