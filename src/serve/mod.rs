//! `hubl serve`: a Hubble-compatible relay that serves a capture, for trying
//! hubl without a cluster, reproducing bug reports from saved captures, and
//! testing. It answers the Observer API with the same filter code as
//! `--input-file`, the gRPC health service and Peer.Notify.

mod capture;
mod clock;
mod codec;
mod mask;
mod observer;

pub use capture::{BadLine, Capture};

use std::{net::SocketAddr, pin::Pin, sync::Arc};

use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tokio_stream::Stream;
use tonic::codegen::http;
use tonic::{
    Request, Response, Status,
    transport::{Certificate, Identity, Server, ServerTlsConfig, server::TcpIncoming},
};

use self::{codec::ObserverServer, observer::ReplayObserver};
use crate::proto::peer::{
    ChangeNotification, ChangeNotificationType, NotifyRequest,
    peer_server::{Peer, PeerServer},
};
use crate::source::version::{HUBBLE_API_VERSION, RELAY_VERSION_HEADER};

/// The connectivity-test capture built into the binary, for `--demo`.
pub const DEMO_CAPTURE: &[u8] = include_bytes!("../../assets/demo.jsonl");

/// The service name Hubble's health checks ask about.
const OBSERVER_HEALTH_NAME: &str = "hubble.server.Observer";

/// What can stop the relay from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        #[source]
        source: std::io::Error,
    },

    #[error("invalid TLS configuration: {0}")]
    Tls(String),

    #[error("the relay stopped: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Certificates for serving over TLS, PEM-encoded.
pub struct TlsFiles {
    pub certificate: Vec<u8>,
    pub key: Vec<u8>,
    /// Client CAs: when given, clients must present a certificate (mTLS).
    pub client_ca: Option<Vec<u8>>,
}

/// How the relay serves its capture.
pub struct ServeOptions {
    /// Flows per second when following; the recorded pace when `None`.
    pub rate: Option<u32>,
    pub tls: Option<TlsFiles>,
}

/// Serves `capture` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    capture: Arc<Capture>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    // Hubble's clients ask for this name, not the proto service's.
    health
        .set_service_status(OBSERVER_HEALTH_NAME, tonic_health::ServingStatus::Serving)
        .await;
    let peers = ReplayPeers {
        nodes: capture.nodes.clone(),
    };
    let mut builder = Server::builder();
    if let Some(tls) = options.tls {
        let mut config =
            ServerTlsConfig::new().identity(Identity::from_pem(tls.certificate, tls.key));
        if let Some(ca) = tls.client_ca {
            config = config.client_ca_root(Certificate::from_pem(ca));
        }
        builder = builder
            .tls_config(config)
            .map_err(|e| ServeError::Tls(e.to_string()))?;
    }
    // As hubble-relay's interceptors, on every response: the version whose
    // API this relay serves, for clients to compare with theirs.
    builder
        .layer(tower::util::MapResponseLayer::new(
            |mut response: http::Response<tonic::body::Body>| {
                response.headers_mut().insert(
                    RELAY_VERSION_HEADER,
                    http::HeaderValue::from_static(HUBBLE_API_VERSION),
                );
                response
            },
        ))
        .add_service(health_service)
        .add_service(ObserverServer::new(ReplayObserver::new(
            capture,
            options.rate,
        )))
        .add_service(PeerServer::new(peers))
        // No Nagle, as Go sets for every TCP connection (hubble-relay, the
        // agent): with it, a client whose receive window is small waited
        // for a delayed ACK (40 ms) on each partial segment.
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await?;
    Ok(())
}

/// Binds `address` (e.g. `127.0.0.1:4245`).
pub async fn listen(address: &str) -> Result<TcpListener, ServeError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| ServeError::Listen {
            address: address.to_owned(),
            source,
        })
}

/// Peer.Notify: every node of the capture, added, then nothing more.
struct ReplayPeers {
    nodes: Vec<String>,
}

#[tonic::async_trait]
impl Peer for ReplayPeers {
    type NotifyStream = Pin<Box<dyn Stream<Item = Result<ChangeNotification, Status>> + Send>>;

    async fn notify(
        &self,
        _: Request<NotifyRequest>,
    ) -> Result<Response<Self::NotifyStream>, Status> {
        let added: Vec<Result<ChangeNotification, Status>> = self
            .nodes
            .iter()
            .map(|name| {
                Ok(ChangeNotification {
                    name: name.clone(),
                    address: "127.0.0.1:4244".into(),
                    r#type: ChangeNotificationType::PeerAdded as i32,
                    tls: None,
                })
            })
            .collect();
        let stream =
            tokio_stream::StreamExt::chain(tokio_stream::iter(added), tokio_stream::pending());
        Ok(Response::new(Box::pin(stream)))
    }
}

/// The embedded demo relay, serving on a loopback port of its own for as
/// long as this value lives.
pub struct Demo {
    pub address: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServeError>>,
}

impl Demo {
    /// Starts the demo relay on 127.0.0.1 and a free port.
    pub async fn start() -> Result<Self, ServeError> {
        let (mut capture, _) = Capture::parse(DEMO_CAPTURE);
        // A demo is no bug report: its flows read as the last minutes, so
        // that `--since 5m` finds them and `--follow` continues them.
        capture.shift_times(chrono::Utc::now().into());
        let listener = listen("127.0.0.1:0").await?;
        let address = listener.local_addr().map_err(|source| ServeError::Listen {
            address: "127.0.0.1:0".into(),
            source,
        })?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let options = ServeOptions {
            rate: None,
            tls: None,
        };
        let task = tokio::spawn(serve(listener, Arc::new(capture), options, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            address,
            shutdown: Some(shutdown),
            task,
        })
    }

    /// The `--server` value that reaches the demo relay.
    pub fn server(&self) -> String {
        self.address.to_string()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_capture_parses_completely() {
        let (capture, bad) = Capture::parse(DEMO_CAPTURE);
        assert_eq!(bad, []);
        assert!(capture.flow_count() > 100);
        assert_eq!(capture.nodes.len(), 2);
        assert!(capture.namespaces.iter().any(|(_, ns)| ns == "cilium-test"));
        assert!(capture.namespaces.iter().any(|(_, ns)| ns == "kube-system"));
    }
}
