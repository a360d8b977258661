//! An in-process fake Hubble server for the commands other than `observe`
//! flows: Observer's ServerStatus, GetNodes, GetNamespaces, GetAgentEvents
//! and GetDebugEvents, the gRPC health service and Peer.Notify, served on
//! 127.0.0.1:0 in plain text, TLS or mutual TLS, optionally behind basic
//! auth. Certificates are generated per test with rcgen.

use std::{
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex},
};

use hubl::proto::{
    observer::{
        GetAgentEventsRequest, GetAgentEventsResponse, GetDebugEventsRequest,
        GetDebugEventsResponse, GetFlowsRequest, GetFlowsResponse, GetNamespacesRequest,
        GetNamespacesResponse, GetNodesRequest, GetNodesResponse, Namespace, Node,
        ServerStatusRequest, ServerStatusResponse,
        observer_server::{Observer, ObserverServer},
    },
    peer::{
        ChangeNotification, NotifyRequest,
        peer_server::{Peer, PeerServer},
    },
};
use tokio_stream::{Stream, wrappers::TcpListenerStream};
use tonic::{
    Request, Response, Status,
    transport::{Certificate, Identity, Server, ServerTlsConfig},
};
use tonic_health::ServingStatus;

pub use super::pki::{Pki, SERVER_NAME};

type Responses<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// What the fake server answers.
#[derive(Clone)]
pub struct Fixture {
    pub health: ServingStatus,
    pub status: ServerStatusResponse,
    pub nodes: Vec<Node>,
    pub namespaces: Vec<Namespace>,
    pub agent_events: Vec<GetAgentEventsResponse>,
    pub debug_events: Vec<GetDebugEventsResponse>,
    pub peers: Vec<ChangeNotification>,
    /// Sent after the events, ending their streams with an error.
    pub stream_error: Option<Status>,
}

impl Default for Fixture {
    fn default() -> Self {
        Self {
            health: ServingStatus::Serving,
            status: ServerStatusResponse::default(),
            nodes: Vec::new(),
            namespaces: Vec::new(),
            agent_events: Vec::new(),
            debug_events: Vec::new(),
            peers: Vec::new(),
            stream_error: None,
        }
    }
}

/// How the server is secured.
#[derive(Default)]
pub struct Security<'a> {
    /// Serve TLS with this PKI's server certificate.
    pub tls: Option<&'a Pki>,
    /// Require a client certificate signed by the PKI's CA.
    pub require_client_cert: bool,
    /// Require this username and password.
    pub basic_auth: Option<(&'a str, &'a str)>,
}

/// A running fake server.
pub struct CliRelay {
    pub address: SocketAddr,
    agent_requests: Arc<Mutex<Vec<GetAgentEventsRequest>>>,
    /// Serves until the relay is dropped.
    _runtime: tokio::runtime::Runtime,
}

impl CliRelay {
    /// Serves `fixture` in plain text.
    pub fn start(fixture: Fixture) -> Self {
        Self::start_secured(fixture, Security::default())
    }

    /// Serves `fixture` as `security` says.
    pub fn start_secured(fixture: Fixture, security: Security<'_>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let agent_requests = Arc::new(Mutex::new(Vec::new()));
        let observer = FakeObserver {
            fixture: fixture.clone(),
            agent_requests: Arc::clone(&agent_requests),
        };
        let peer = FakePeer {
            peers: fixture.peers.clone(),
        };
        let mut builder = Server::builder();
        if let Some(pki) = security.tls {
            let mut tls = ServerTlsConfig::new()
                .identity(Identity::from_pem(&pki.server_cert, &pki.server_key));
            if security.require_client_cert {
                tls = tls.client_ca_root(Certificate::from_pem(&pki.ca));
            }
            builder = builder.tls_config(tls).expect("a TLS server config");
        }
        let expected = security
            .basic_auth
            .map(|(user, password)| basic_auth_header(user, password));
        let check = move |request: Request<()>| -> Result<Request<()>, Status> {
            let Some(expected) = &expected else {
                return Ok(request);
            };
            let given = request
                .metadata()
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            if given == Some(expected.as_str()) {
                Ok(request)
            } else {
                Err(Status::unauthenticated("invalid credentials"))
            }
        };
        let address = runtime.block_on(async {
            let (reporter, health) = tonic_health::server::health_reporter();
            reporter
                .set_service_status("hubble.server.Observer", fixture.health)
                .await;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a loopback port");
            let address = listener.local_addr().expect("a bound address");
            tokio::spawn(
                builder
                    .layer(tonic::service::InterceptorLayer::new(check))
                    .add_service(health)
                    .add_service(ObserverServer::new(observer))
                    .add_service(PeerServer::new(peer))
                    .serve_with_incoming(TcpListenerStream::new(listener)),
            );
            address
        });
        Self {
            address,
            agent_requests,
            _runtime: runtime,
        }
    }

    /// `--server` value for this server.
    pub fn server(&self) -> String {
        self.address.to_string()
    }

    /// Every GetAgentEventsRequest received so far.
    pub fn agent_requests(&self) -> Vec<GetAgentEventsRequest> {
        self.agent_requests
            .lock()
            .expect("no test panicked holding it")
            .clone()
    }
}

fn basic_auth_header(user: &str, password: &str) -> String {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

struct FakeObserver {
    fixture: Fixture,
    agent_requests: Arc<Mutex<Vec<GetAgentEventsRequest>>>,
}

impl FakeObserver {
    fn stream<T: Clone + Send + 'static>(&self, items: &[T]) -> Responses<T> {
        let items: Vec<Result<T, Status>> = items
            .iter()
            .cloned()
            .map(Ok)
            .chain(self.fixture.stream_error.clone().map(Err))
            .collect();
        Box::pin(tokio_stream::iter(items))
    }
}

#[tonic::async_trait]
impl Observer for FakeObserver {
    type GetFlowsStream = Responses<GetFlowsResponse>;
    type GetAgentEventsStream = Responses<GetAgentEventsResponse>;
    type GetDebugEventsStream = Responses<GetDebugEventsResponse>;

    async fn get_flows(
        &self,
        _: Request<GetFlowsRequest>,
    ) -> Result<Response<Self::GetFlowsStream>, Status> {
        Err(Status::unimplemented(
            "flows are served by the other fake relay",
        ))
    }

    async fn get_agent_events(
        &self,
        request: Request<GetAgentEventsRequest>,
    ) -> Result<Response<Self::GetAgentEventsStream>, Status> {
        self.agent_requests
            .lock()
            .expect("no test panicked holding it")
            .push(request.into_inner());
        Ok(Response::new(self.stream(&self.fixture.agent_events)))
    }

    async fn get_debug_events(
        &self,
        _: Request<GetDebugEventsRequest>,
    ) -> Result<Response<Self::GetDebugEventsStream>, Status> {
        Ok(Response::new(self.stream(&self.fixture.debug_events)))
    }

    async fn get_nodes(
        &self,
        _: Request<GetNodesRequest>,
    ) -> Result<Response<GetNodesResponse>, Status> {
        Ok(Response::new(GetNodesResponse {
            nodes: self.fixture.nodes.clone(),
        }))
    }

    async fn get_namespaces(
        &self,
        _: Request<GetNamespacesRequest>,
    ) -> Result<Response<GetNamespacesResponse>, Status> {
        Ok(Response::new(GetNamespacesResponse {
            namespaces: self.fixture.namespaces.clone(),
        }))
    }

    async fn server_status(
        &self,
        _: Request<ServerStatusRequest>,
    ) -> Result<Response<ServerStatusResponse>, Status> {
        Ok(Response::new(self.fixture.status.clone()))
    }
}

struct FakePeer {
    peers: Vec<ChangeNotification>,
}

#[tonic::async_trait]
impl Peer for FakePeer {
    type NotifyStream = Responses<ChangeNotification>;

    async fn notify(
        &self,
        _: Request<NotifyRequest>,
    ) -> Result<Response<Self::NotifyStream>, Status> {
        let items: Vec<Result<ChangeNotification, Status>> =
            self.peers.iter().cloned().map(Ok).collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(items))))
    }
}
