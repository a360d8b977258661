//! A Hubble server (hubble-relay or a Cilium agent) over gRPC: dialing it
//! in plain text, TLS or mutual TLS, over TCP or a unix socket, with basic
//! auth, and the calls the commands make. Failures are explained in terms
//! of the flags that fix them.

use std::{
    error::Error as StdError,
    fmt, io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use base64::Engine;
use hyper_util::rt::TokioIo;
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore,
    SignatureScheme,
    client::{
        ResolvesClientCert,
        danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    },
    crypto::CryptoProvider,
    sign::CertifiedKey,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime, pem::PemObject};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_stream::{Stream, StreamExt};
use tonic::{
    body::Body,
    codegen::http::{self, HeaderValue, header::AUTHORIZATION},
    transport::{Channel, Endpoint, Uri},
};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use super::{
    ResponseStream, SourceError,
    portforward::{PortForwardOptions, Tunnel},
    version::IntoInnerChecked,
    wire::{Encoded, EncodedDecoder, FlowsDecoder, GetFlowsCodec},
};
use crate::proto::{
    observer::{
        GetAgentEventsRequest, GetAgentEventsResponse, GetDebugEventsRequest,
        GetDebugEventsResponse, GetFlowsRequest, GetNamespacesRequest, GetNamespacesResponse,
        GetNodesRequest, GetNodesResponse, ServerStatusRequest, ServerStatusResponse,
        observer_client::ObserverClient,
    },
    peer::{ChangeNotification, NotifyRequest, peer_client::PeerClient},
};

/// The service name Hubble's health check asks about.
pub const OBSERVER_SERVICE: &str = "hubble.server.Observer";

/// Everything needed to reach a server.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `host:port`, `tls://host:port` or `unix:///path`.
    pub server: String,
    /// How long to wait for the connection.
    pub timeout: Duration,
    /// How long a unary call may take.
    pub request_timeout: Duration,
    /// `None` for plain text.
    pub tls: Option<TlsOptions>,
    /// Username and password for HTTP basic auth.
    pub basic_auth: Option<(String, String)>,
    /// `-P`: reach the relay through the Kubernetes API instead of
    /// `server`.
    pub port_forward: Option<PortForwardOptions>,
}

/// TLS settings, as Hubble's `--tls-*` flags give them.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    pub allow_insecure: bool,
    /// PEM files of the CAs to trust instead of the system's.
    pub ca_cert_files: Vec<String>,
    /// PEM files of the client certificate and its key, for mutual TLS.
    pub client_cert: Option<(String, String)>,
    /// The name the server's certificate must hold; by default the host of
    /// the address.
    pub server_name: Option<String>,
}

impl ConnectOptions {
    /// Whether TLS is used: asked for, or implied by a `tls://` address.
    pub fn uses_tls(server: &str, tls_flag: bool) -> bool {
        tls_flag || server.starts_with("tls://")
    }
}

/// A connected channel that adds the basic auth header to every call, and
/// knows how to explain its failures.
#[derive(Clone)]
pub struct Connection {
    channel: Channel,
    authorization: Option<HeaderValue>,
    context: Arc<Explainer>,
    request_timeout: Duration,
}

impl Connection {
    /// The address dialed, as Hubble shows it (without `tls://`).
    pub fn target(&self) -> &str {
        &self.context.target
    }

    /// Turns a failed call into an error that says what to do.
    pub fn explain(&self, status: tonic::Status) -> SourceError {
        self.context.explain_status(status)
    }

    fn observer(&self) -> ObserverClient<Connection> {
        // Flows can be large (long label lists); a relay sends up to its own
        // limit, so do not refuse what it sends.
        ObserverClient::new(self.clone()).max_decoding_message_size(usize::MAX)
    }

    /// A unary call bounded by `--request-timeout`, as Hubble's timeout
    /// interceptor bounds it.
    async fn unary<T, F>(&self, call: F) -> Result<T, SourceError>
    where
        F: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        match tokio::time::timeout(self.request_timeout, call).await {
            Ok(Ok(response)) => Ok(response.into_inner_checked()),
            Ok(Err(status)) => Err(self.explain(status)),
            Err(_elapsed) => Err(SourceError::Status(tonic::Status::deadline_exceeded(
                "context deadline exceeded",
            ))),
        }
    }

    fn timed<R>(&self, message: R) -> tonic::Request<R> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(self.request_timeout);
        request
    }

    /// The standard gRPC health check of the Observer service; the status
    /// is `SERVING` (1) when healthy.
    pub async fn health_check(&self) -> Result<i32, SourceError> {
        let mut client = HealthClient::new(self.clone());
        let request = self.timed(HealthCheckRequest {
            service: OBSERVER_SERVICE.to_owned(),
        });
        Ok(self.unary(client.check(request)).await?.status)
    }

    /// Observer.ServerStatus.
    pub async fn server_status(&self) -> Result<ServerStatusResponse, SourceError> {
        let mut client = self.observer();
        let request = self.timed(ServerStatusRequest {});
        self.unary(client.server_status(request)).await
    }

    /// Observer.GetNodes.
    pub async fn get_nodes(&self) -> Result<GetNodesResponse, SourceError> {
        let mut client = self.observer();
        let request = self.timed(GetNodesRequest {});
        self.unary(client.get_nodes(request)).await
    }

    /// Observer.GetNamespaces.
    pub async fn get_namespaces(&self) -> Result<GetNamespacesResponse, SourceError> {
        let mut client = self.observer();
        let request = self.timed(GetNamespacesRequest {});
        self.unary(client.get_namespaces(request)).await
    }

    /// Observer.GetFlows; responses are yielded as they arrive, their flows
    /// read headline only (for compact, dict and table output; see `wire`)
    /// or whole.
    pub async fn get_flows(
        &self,
        request: GetFlowsRequest,
        headline_only: bool,
    ) -> Result<ResponseStream, SourceError> {
        self.call_get_flows(request, GetFlowsCodec(FlowsDecoder { headline_only }))
            .await
    }

    /// Observer.GetFlows, each response yielded as the bytes received, for
    /// output written from them (see `Encoded`).
    pub async fn get_encoded_flows(
        &self,
        request: GetFlowsRequest,
    ) -> Result<EventStream<Encoded>, SourceError> {
        self.call_get_flows(request, GetFlowsCodec(EncodedDecoder))
            .await
    }

    /// What the generated client's `get_flows` does, with our codec.
    async fn call_get_flows<C>(
        &self,
        request: GetFlowsRequest,
        codec: C,
    ) -> Result<EventStream<C::Decode>, SourceError>
    where
        C: tonic::codec::Codec<Encode = GetFlowsRequest> + Send + 'static,
        C::Decode: Send + Sync + 'static,
    {
        let mut grpc = tonic::client::Grpc::new(self.clone()).max_decoding_message_size(usize::MAX);
        grpc.ready().await.map_err(|e| {
            self.explain(tonic::Status::unknown(format!(
                "Service was not ready: {e}"
            )))
        })?;
        let mut request = tonic::Request::new(request);
        request
            .extensions_mut()
            .insert(tonic::GrpcMethod::new("observer.Observer", "GetFlows"));
        let path = http::uri::PathAndQuery::from_static("/observer.Observer/GetFlows");
        let stream = grpc
            .server_streaming(request, path, codec)
            .await
            .map_err(|s| self.explain(s))?
            .into_inner_checked();
        Ok(self.explained(stream))
    }

    /// Observer.GetAgentEvents.
    pub async fn get_agent_events(
        &self,
        request: GetAgentEventsRequest,
    ) -> Result<EventStream<GetAgentEventsResponse>, SourceError> {
        let stream = self
            .observer()
            .get_agent_events(request)
            .await
            .map_err(|s| self.explain(s))?
            .into_inner_checked();
        Ok(self.explained(stream))
    }

    /// Observer.GetDebugEvents.
    pub async fn get_debug_events(
        &self,
        request: GetDebugEventsRequest,
    ) -> Result<EventStream<GetDebugEventsResponse>, SourceError> {
        let stream = self
            .observer()
            .get_debug_events(request)
            .await
            .map_err(|s| self.explain(s))?
            .into_inner_checked();
        Ok(self.explained(stream))
    }

    /// Peer.Notify: the peers known now, then their changes.
    pub async fn peer_notify(&self) -> Result<EventStream<ChangeNotification>, SourceError> {
        let stream = PeerClient::new(self.clone())
            .notify(NotifyRequest {})
            .await
            .map_err(|s| self.explain(s))?
            .into_inner_checked();
        Ok(self.explained(stream))
    }

    fn explained<T: Send + 'static>(
        &self,
        stream: tonic::Streaming<T>,
    ) -> Pin<Box<dyn Stream<Item = Result<T, SourceError>> + Send>> {
        let context = Arc::clone(&self.context);
        Box::pin(Cooperative(
            stream.map(move |item| item.map_err(|s| context.explain_status(s))),
        ))
    }
}

/// A stream of responses that spends tokio's task budget as tokio's own
/// sockets and channels do, so that a reader with responses ready still
/// gives the runtime its turn (every 128 responses).
///
/// Without it, a reader slower than its server drains hyper's receive
/// buffer in one go while the connection task waits, and the ping that
/// measures the bandwidth-delay product is answered only after that
/// backlog: the adaptive window then measures our own backlog, not the
/// link, and grew on loopback to 1 to 4 MiB held in received frames
/// (peak RSS 8 to 10 MiB after a million flows, against 7.5 MiB at a
/// window of 256 KiB). A far link still gets the window its round trip
/// needs, up to hyper's 16 MiB, as grpc-go's client does.
struct Cooperative<S>(S);

impl<S: Stream + Unpin> Stream for Cooperative<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let budget = std::task::ready!(tokio::task::coop::poll_proceed(cx));
        let item = std::task::ready!(Pin::new(&mut self.0).poll_next(cx));
        budget.made_progress();
        Poll::Ready(item)
    }
}

/// The responses of a streaming call other than GetFlows.
pub type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, SourceError>> + Send>>;

impl tower_service::Service<http::Request<Body>> for Connection {
    type Response = http::Response<Body>;
    type Error = tonic::transport::Error;
    type Future = tonic::transport::channel::ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower_service::Service::poll_ready(&mut self.channel, cx)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        if let Some(authorization) = &self.authorization {
            request
                .headers_mut()
                .insert(AUTHORIZATION, authorization.clone());
        }
        self.channel.call(request)
    }
}

/// Kept with the connection to put failures in the user's terms.
#[derive(Debug)]
struct Explainer {
    /// The address as the user gave it, for messages.
    address: String,
    /// The address dialed.
    target: String,
    tls: Option<TlsContext>,
    /// What the server's first bytes showed, when they were not gRPC's.
    greeting: GreetingVerdict,
    /// What to check when the connection fails.
    hint: String,
}

#[derive(Debug)]
struct TlsContext {
    server_name: String,
    ca_cert_files: Vec<String>,
    client_cert: bool,
    /// Set when the server asked for a client certificate we do not have.
    missing_client_cert: Option<Arc<NoClientCertificate>>,
}

impl TlsContext {
    /// With TLS 1.3 the server refuses a missing client certificate after
    /// the handshake, and its alert is lost in the closing connection:
    /// that the server asked for one is the only trace left.
    fn client_cert_was_missing(&self) -> bool {
        self.missing_client_cert
            .as_ref()
            .is_some_and(|resolver| resolver.requested.load(Ordering::Relaxed))
    }
}

const CLIENT_CERT_REQUIRED: &str = "the server requires a client certificate: \
                                    set --tls-client-cert-file and --tls-client-key-file";

impl Explainer {
    fn explain_status(&self, status: tonic::Status) -> SourceError {
        if let Some(error) = find_rustls_error(&status) {
            return self.tls_failure(error);
        }
        if matches!(
            status.code(),
            tonic::Code::Cancelled | tonic::Code::Unavailable | tonic::Code::Unknown
        ) && self
            .tls
            .as_ref()
            .is_some_and(TlsContext::client_cert_was_missing)
        {
            return SourceError::Tls {
                address: self.address.clone(),
                reason: CLIENT_CERT_REQUIRED.to_owned(),
            };
        }
        if let Some(greeting) = self.greeting.unexpected() {
            return self.protocol_failure(&greeting);
        }
        if status.code() == tonic::Code::Unauthenticated {
            return SourceError::Unauthenticated(status);
        }
        // A connection lost mid-stream is Unknown to tonic, with the
        // transport error attached; grpc-go, and so Hubble, says
        // "code = Unavailable desc = error reading from server: EOF".
        if status.code() == tonic::Code::Unknown
            && let Some(cause) = StdError::source(&status)
        {
            let mut root = cause;
            while let Some(next) = root.source() {
                root = next;
            }
            // Go names a connection closed under it by the error it reads.
            let io = root
                .downcast_ref::<io::Error>()
                .or_else(|| root.downcast_ref::<h2::Error>().and_then(h2::Error::get_io));
            let closed = io.is_some_and(|error| {
                matches!(
                    error.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::UnexpectedEof
                )
            });
            let root = if closed {
                "EOF".to_owned()
            } else {
                root.to_string()
            };
            return SourceError::Status(tonic::Status::unavailable(format!(
                "error reading from server: {root}"
            )));
        }
        SourceError::Status(status)
    }

    fn protocol_failure(&self, greeting: &UnexpectedGreeting) -> SourceError {
        let name = &self.target;
        let advice = match greeting {
            UnexpectedGreeting::Broken(reason) => {
                return SourceError::Connect {
                    address: self.address.clone(),
                    reason: reason.clone(),
                    hint: self.hint.clone(),
                };
            }
            UnexpectedGreeting::Tls => format!(
                ": add --tls (or use the address tls://{name}), with \
                 --tls-ca-cert-files for the CA that signed its certificate and --tls-server-name \
                 for the name in it (e.g. *.hubble-relay.cilium.io)"
            ),
            // gRPC servers that serve TLS hang up on plain text without a
            // word: by far the likeliest cause.
            UnexpectedGreeting::Silent { over_tls: false } => format!(
                "; a server that speaks TLS does that to plain text: add --tls (or use the address \
                 tls://{name}), with --tls-ca-cert-files and --tls-server-name as its certificate needs"
            ),
            UnexpectedGreeting::Silent { over_tls: true } => {
                "; is this the address of Hubble Relay or of a Hubble server?".to_owned()
            }
            UnexpectedGreeting::Http1(_) => {
                "; it is a web server or a proxy, not gRPC: is this the address of Hubble Relay?"
                    .to_owned()
            }
            UnexpectedGreeting::NotHttp2 => {
                "; it does not speak gRPC: is this the address of Hubble Relay?".to_owned()
            }
        };
        SourceError::Protocol {
            address: self.address.clone(),
            reason: format!("{greeting}{advice}"),
        }
    }

    fn tls_failure(&self, error: &rustls::Error) -> SourceError {
        SourceError::Tls {
            address: self.address.clone(),
            reason: self.describe_tls(error),
        }
    }

    fn describe_tls(&self, error: &rustls::Error) -> String {
        let Some(tls) = &self.tls else {
            return error.to_string();
        };
        let trusted = if tls.ca_cert_files.is_empty() {
            "by any CA this system trusts; pass the CA that signed it with --tls-ca-cert-files"
                .to_owned()
        } else {
            format!(
                "by the CA in {} (--tls-ca-cert-files)",
                tls.ca_cert_files.join(", ")
            )
        };
        match error {
            // A CA of the same name as the real one fails on the signature.
            rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::BadSignature,
            ) => format!("the server's certificate is not trusted: it is not signed {trusted}"),
            rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                presented,
                ..
            }) => format!(
                "the server's certificate is not valid for the name '{}' (it is valid for: {}); \
                 set --tls-server-name to one of its names",
                tls.server_name,
                presented.join(", ")
            ),
            rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => format!(
                "the server's certificate is not valid for the name '{}'; \
                 set --tls-server-name to a name it holds",
                tls.server_name
            ),
            rustls::Error::InvalidCertificate(
                CertificateError::Expired | CertificateError::ExpiredContext { .. },
            ) => "the server's certificate has expired".to_owned(),
            rustls::Error::InvalidCertificate(other) => {
                format!("the server's certificate was rejected: {other:?}")
            }
            rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
                CLIENT_CERT_REQUIRED.to_owned()
            }
            rustls::Error::AlertReceived(
                alert @ (AlertDescription::BadCertificate
                | AlertDescription::UnknownCA
                | AlertDescription::CertificateUnknown
                | AlertDescription::HandshakeFailure),
            ) if tls.client_cert => format!(
                "the server refused our client certificate ({alert:?}): \
                 it must be signed by a CA the server trusts"
            ),
            rustls::Error::AlertReceived(AlertDescription::HandshakeFailure) => {
                "the server refused the TLS handshake; if it requires a client certificate, \
                 set --tls-client-cert-file and --tls-client-key-file"
                    .to_owned()
            }
            rustls::Error::AlertReceived(alert) => {
                format!("the server refused the TLS handshake ({alert:?})")
            }
            rustls::Error::InvalidMessage(_) => {
                "the server does not speak TLS; if it is a plain-text port, \
                 drop --tls and the tls:// prefix"
                    .to_owned()
            }
            other => format!("TLS handshake failed: {other}"),
        }
    }
}

/// The rustls error somewhere in a chain of causes.
fn find_rustls_error<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    find_cause(error)
}

/// An error of type `T` somewhere in a chain of causes. I/O errors hide
/// their inner error from `source()`, so they are opened too.
fn find_cause<'a, T: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(cause) = current {
        if let Some(found) = cause.downcast_ref::<T>() {
            return Some(found);
        }
        if let Some(inner) = cause
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| find_cause::<T>(inner))
        {
            return Some(inner);
        }
        current = cause.source();
    }
    None
}

/// Dials the server and waits at most `options.timeout` for the
/// connection.
pub async fn connect(options: &ConnectOptions) -> Result<Connection, SourceError> {
    let (address, target, dial_target, authority, hint) = match &options.port_forward {
        Some(port_forward) => {
            let tunnel = Tunnel::open(port_forward).await?;
            // Hubble dials its end of the forward, so the server is named
            // 127.0.0.1:PORT in TLS, in :authority and in `status`.
            let local = format!("127.0.0.1:{}", port_forward.port);
            let hint = tunnel.unanswered_hint();
            (
                tunnel.describe(),
                local.clone(),
                DialTarget::Tunnel(tunnel),
                local,
                hint,
            )
        }
        None => {
            let target = options
                .server
                .strip_prefix("tls://")
                .unwrap_or(&options.server)
                .to_owned();
            let (dial_target, authority) = match target.strip_prefix("unix://") {
                Some(path) => (DialTarget::Unix(path.to_owned()), "localhost".to_owned()),
                None => (DialTarget::Tcp(target.clone()), target.clone()),
            };
            (
                options.server.clone(),
                target,
                dial_target,
                authority,
                DIRECT_HINT.to_owned(),
            )
        }
    };
    let failed = |reason: String| SourceError::Connect {
        address: address.clone(),
        reason,
        hint: hint.clone(),
    };
    let uri: Uri = format!("http://{authority}")
        .parse()
        .map_err(|e: http::uri::InvalidUri| failed(format!("not a valid address: {e}")))?;

    let authorization = match &options.basic_auth {
        None => None,
        Some(_) if options.tls.is_none() => return Err(SourceError::Settings(
            "basic auth credentials are only sent over TLS: add --tls or use a tls:// server address"
                .to_owned(),
        )),
        Some((user, password)) => {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            let mut value = HeaderValue::from_str(&format!("Basic {token}"))
                .map_err(|e| SourceError::Settings(format!("invalid basic auth credentials: {e}")))?;
            value.set_sensitive(true);
            Some(value)
        }
    };

    let (tls, tls_context) = match &options.tls {
        None => (None, None),
        Some(tls) => {
            let server_name = tls
                .server_name
                .clone()
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| host_of(&authority));
            let (setup, missing_client_cert) = TlsSetup::new(tls, &server_name)?;
            let context = TlsContext {
                server_name,
                ca_cert_files: tls.ca_cert_files.clone(),
                client_cert: tls.client_cert.is_some(),
                missing_client_cert,
            };
            (Some(setup), Some(context))
        }
    };
    let explainer = Arc::new(Explainer {
        address: address.clone(),
        target: target.clone(),
        tls: tls_context,
        greeting: GreetingVerdict::default(),
        hint: hint.clone(),
    });

    let dialer = Dialer {
        target: dial_target,
        tls,
        greeting: explainer.greeting.clone(),
    };
    let connector = tower::service_fn(move |_: Uri| dialer.clone().dial());
    // By default hyper lets a server send 2 MiB per stream ahead of what
    // was read, which a client following a fast relay then holds in
    // buffers. Sized from the measured bandwidth-delay product instead (as
    // grpc-go does), the window stays small on a near link and grows on a
    // far one.
    let endpoint = Endpoint::from(uri)
        .connect_timeout(options.timeout)
        .http2_adaptive_window(true);
    let channel = match tokio::time::timeout(
        options.timeout,
        endpoint.connect_with_connector(connector),
    )
    .await
    {
        Err(_elapsed) => {
            return Err(failed(format!(
                "deadline exceeded while dialing {target} (waited {}; raise --timeout to wait longer)",
                crate::duration::format(options.timeout)
            )));
        }
        Ok(Err(error)) => {
            if let Some(tls_error) = find_rustls_error(&error) {
                return Err(explainer.tls_failure(tls_error));
            }
            if let Some(greeting) = explainer.greeting.unexpected() {
                return Err(explainer.protocol_failure(&greeting));
            }
            if is_elapsed(&error) {
                return Err(failed(format!(
                    "deadline exceeded while dialing {target} (waited {}; raise --timeout to wait longer)",
                    crate::duration::format(options.timeout)
                )));
            }
            return Err(failed(error_chain(&error)));
        }
        Ok(Ok(channel)) => channel,
    };
    Ok(Connection {
        channel,
        authorization,
        context: explainer,
        request_timeout: options.request_timeout,
    })
}

const DIRECT_HINT: &str = "Is Hubble Relay reachable at that address? If it runs in a cluster, \
                           let hubl forward its port with -P (--port-forward), or forward it yourself:\n  \
                           kubectl port-forward -n kube-system deployment/hubble-relay 4245:4245";

/// Whether tonic gave up dialing at its own connect timeout.
fn is_elapsed(error: &(dyn StdError + 'static)) -> bool {
    find_cause::<tokio::time::error::Elapsed>(error).is_some()
        || error_chain(error).ends_with("deadline has elapsed")
}

/// The host of `host:port` or `[v6]:port`, as Go's gRPC names the server
/// for TLS.
fn host_of(authority: &str) -> String {
    if let Some(rest) = authority.strip_prefix('[')
        && let Some((host, _)) = rest.split_once(']')
    {
        return host.to_owned();
    }
    match authority.rsplit_once(':') {
        Some((host, _)) => host.to_owned(),
        None => authority.to_owned(),
    }
}

#[derive(Debug, Clone)]
enum DialTarget {
    Tcp(String),
    Unix(String),
    Tunnel(Arc<Tunnel>),
}

/// Opens the transport for tonic: TCP or a unix socket, then TLS if asked.
#[derive(Clone)]
struct Dialer {
    target: DialTarget,
    tls: Option<TlsSetup>,
    greeting: GreetingVerdict,
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

impl Dialer {
    async fn dial(self) -> Result<TokioIo<Box<dyn Io>>, DialError> {
        let stream: Box<dyn Io> = match &self.target {
            DialTarget::Tcp(address) => {
                let stream = tokio::net::TcpStream::connect(address).await?;
                stream.set_nodelay(true)?;
                Box::new(stream)
            }
            DialTarget::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
            DialTarget::Tunnel(tunnel) => {
                Box::new(tunnel.connect().await.map_err(io::Error::other)?)
            }
        };
        let Some(tls) = self.tls else {
            return Ok(TokioIo::new(Box::new(Greeting::new(
                stream,
                false,
                self.greeting,
            ))));
        };
        let stream = tls
            .connector
            .connect(tls.server_name, stream)
            .await
            .map_err(DialError::from_tls)?;
        Ok(TokioIo::new(Box::new(Greeting::new(
            stream,
            true,
            self.greeting,
        ))))
    }
}

/// Watches the first bytes the server sends. An HTTP/2 server starts with
/// a SETTINGS frame; anything else means the client is talking to the
/// wrong kind of server, and hyper, seeing only a closed or garbled
/// connection, would report it obscurely.
struct Greeting<S> {
    inner: S,
    /// The first bytes, until they are known to be a SETTINGS frame.
    seen: Vec<u8>,
    checked: bool,
    over_tls: bool,
    verdict: GreetingVerdict,
}

/// Where a connection leaves what its first bytes showed. h2 keeps only
/// the text of I/O errors, so the verdict reaches the explainer this way.
#[derive(Debug, Clone, Default)]
struct GreetingVerdict(Arc<std::sync::Mutex<Option<UnexpectedGreeting>>>);

impl GreetingVerdict {
    fn set(&self, verdict: Option<UnexpectedGreeting>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = verdict;
        }
    }

    fn unexpected(&self) -> Option<UnexpectedGreeting> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }
}

/// The length of an HTTP/2 frame header, enough to tell a SETTINGS frame.
const FRAME_HEADER: usize = 9;

/// How much of the first bytes is kept: enough for an HTTP/1 status line.
const GREETING_KEPT: usize = 64;

impl<S> Greeting<S> {
    fn new(inner: S, over_tls: bool, verdict: GreetingVerdict) -> Self {
        Self {
            inner,
            seen: Vec::new(),
            checked: false,
            over_tls,
            verdict,
        }
    }

    /// A read that fails before the server said anything: a reset is
    /// hanging up without a word; any other failure is kept as it is.
    fn check_failure<T>(&mut self, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if !self.checked
            && self.seen.is_empty()
            && let Poll::Ready(Err(error)) = &result
        {
            self.verdict.set(Some(match error.kind() {
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
                    UnexpectedGreeting::Silent {
                        over_tls: self.over_tls,
                    }
                }
                _ => UnexpectedGreeting::Broken(error.to_string()),
            }));
        }
        result
    }

    /// What the first bytes say, once they say enough.
    fn verdict(&self, closed: bool) -> Option<Result<(), UnexpectedGreeting>> {
        let seen = &self.seen;
        if seen.is_empty() {
            return closed.then_some(Err(UnexpectedGreeting::Silent {
                over_tls: self.over_tls,
            }));
        }
        // A TLS record: handshake, alert, change cipher spec or data, and
        // a 3.x version.
        if !self.over_tls && (0x14..=0x17).contains(&seen[0]) && seen.get(1).is_none_or(|&v| v == 3)
        {
            return (seen.len() >= 2 || closed).then_some(Err(UnexpectedGreeting::Tls));
        }
        if b"HTTP/".starts_with(&seen[..seen.len().min(5)]) && !closed && seen.len() < 5 {
            return None;
        }
        if seen.starts_with(b"HTTP/") {
            let line = seen
                .split(|&b| b == b'\r' || b == b'\n')
                .next()
                .unwrap_or_default();
            return Some(Err(UnexpectedGreeting::Http1(
                String::from_utf8_lossy(line).into_owned(),
            )));
        }
        if seen.len() < FRAME_HEADER {
            return closed.then_some(Err(UnexpectedGreeting::NotHttp2));
        }
        // The frame type is the fourth byte; SETTINGS is 4.
        Some(if seen[3] == 4 {
            Ok(())
        } else {
            Err(UnexpectedGreeting::NotHttp2)
        })
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Greeting<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if self.checked {
            return result;
        }
        if !matches!(result, Poll::Ready(Ok(()))) {
            return self.check_failure(result);
        }
        let new = &buf.filled()[before..];
        let closed = new.is_empty();
        let wanted = GREETING_KEPT.saturating_sub(self.seen.len()).min(new.len());
        let new = new[..wanted].to_vec();
        self.seen.extend_from_slice(&new);
        match self.verdict(closed) {
            None => result,
            Some(Ok(())) => {
                self.checked = true;
                self.seen = Vec::new();
                self.verdict.set(None);
                result
            }
            Some(Err(unexpected)) => {
                self.checked = true;
                let error = io::Error::new(io::ErrorKind::InvalidData, unexpected.clone());
                self.verdict.set(Some(unexpected));
                Poll::Ready(Err(error))
            }
        }
    }
}

impl<S> Greeting<S> {
    /// A server that hangs up before it says anything makes our writes
    /// fail, and hyper would stop there without reading what it did say
    /// (a TLS alert, an HTTP/1 error). The write is taken as done instead:
    /// the next read tells what the server said, or fails at once.
    fn written<T>(&self, result: Poll<io::Result<T>>, done: T) -> Poll<io::Result<T>> {
        match result {
            Poll::Ready(Err(error))
                if !self.checked
                    && self.seen.is_empty()
                    && matches!(
                        error.kind(),
                        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                    ) =>
            {
                Poll::Ready(Ok(done))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Greeting<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.written(result, buf.len())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.inner).poll_flush(cx);
        self.written(result, ())
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        let total = bufs.iter().map(|buf| buf.len()).sum();
        self.written(result, total)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// How the server's first bytes showed it is not a gRPC server.
#[derive(Debug, Clone, thiserror::Error)]
enum UnexpectedGreeting {
    #[error("the server answered with TLS")]
    Tls,
    #[error("the server answered in HTTP/1 ({0:?})")]
    Http1(String),
    #[error(
        "the server closed the connection without answering (error reading server preface: EOF)"
    )]
    Silent { over_tls: bool },
    #[error("the server's answer is not HTTP/2")]
    NotHttp2,
    /// The connection failed before the server said anything.
    #[error("{0}")]
    Broken(String),
}

/// Why the transport could not be opened.
#[derive(Debug)]
enum DialError {
    Io(io::Error),
    Tls(rustls::Error),
}

impl DialError {
    fn from_tls(error: io::Error) -> Self {
        if error
            .get_ref()
            .is_some_and(|inner| inner.is::<rustls::Error>())
            && let Some(inner) = error.into_inner()
            && let Ok(tls) = inner.downcast::<rustls::Error>()
        {
            return DialError::Tls(*tls);
        }
        DialError::Io(io::Error::other("TLS handshake failed"))
    }
}

impl From<io::Error> for DialError {
    fn from(error: io::Error) -> Self {
        DialError::Io(error)
    }
}

impl fmt::Display for DialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialError::Io(error) => error.fmt(f),
            DialError::Tls(error) => error.fmt(f),
        }
    }
}

impl StdError for DialError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            DialError::Io(error) => Some(error),
            DialError::Tls(error) => Some(error),
        }
    }
}

#[derive(Clone)]
struct TlsSetup {
    connector: tokio_rustls::TlsConnector,
    server_name: ServerName<'static>,
}

/// The client certificate "resolver" when there is none: it only notes
/// that the server asked for one.
#[derive(Debug, Default)]
struct NoClientCertificate {
    requested: AtomicBool,
}

impl ResolvesClientCert for NoClientCertificate {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.requested.store(true, Ordering::Relaxed);
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

impl TlsSetup {
    fn new(
        options: &TlsOptions,
        server_name: &str,
    ) -> Result<(Self, Option<Arc<NoClientCertificate>>), SourceError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let settings = |reason: String| SourceError::Settings(reason);
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| settings(format!("cannot set up TLS: {e}")))?;
        let builder = if options.allow_insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
        } else {
            builder.with_root_certificates(root_store(&options.ca_cert_files)?)
        };
        let mut missing_client_cert = None;
        let mut config = match &options.client_cert {
            None => {
                let resolver = Arc::new(NoClientCertificate::default());
                missing_client_cert = Some(Arc::clone(&resolver));
                builder.with_client_cert_resolver(resolver)
            }
            Some((cert_file, key_file)) => {
                let certs = CertificateDer::pem_file_iter(cert_file)
                    .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                    .map_err(|e| {
                        settings(format!("cannot load client certificate '{cert_file}': {e}"))
                    })?;
                if certs.is_empty() {
                    return Err(settings(format!(
                        "cannot load client certificate '{cert_file}': no PEM encoded certificate in it"
                    )));
                }
                let key = PrivateKeyDer::from_pem_file(key_file)
                    .map_err(|e| settings(format!("cannot load client key '{key_file}': {e}")))?;
                builder.with_client_auth_cert(certs, key).map_err(|e| {
                    settings(format!(
                        "client certificate '{cert_file}' and key '{key_file}' do not make a pair: {e}"
                    ))
                })?
            }
        };
        // gRPC servers insist on HTTP/2 being negotiated.
        config.alpn_protocols = vec![b"h2".to_vec()];
        let server_name = ServerName::try_from(server_name.to_owned()).map_err(|_| {
            settings(format!(
                "'{server_name}' is not a valid TLS server name: set --tls-server-name"
            ))
        })?;
        let setup = Self {
            connector: tokio_rustls::TlsConnector::from(Arc::new(config)),
            server_name,
        };
        Ok((setup, missing_client_cert))
    }
}

/// The CAs in `files`, or the system's when there are none, as Hubble
/// trusts them.
fn root_store(files: &[String]) -> Result<RootCertStore, SourceError> {
    let mut roots = RootCertStore::empty();
    if files.is_empty() {
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        return Ok(roots);
    }
    for path in files {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| SourceError::Settings(format!("cannot load cert '{path}': {e}")))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| invalid_ca(path))?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(invalid_ca(path));
        }
    }
    Ok(roots)
}

fn invalid_ca(path: &str) -> SourceError {
    SourceError::Settings(format!(
        "cannot process cert '{path}': must be a PEM encoded certificate"
    ))
}

/// `--tls-allow-insecure`: any certificate and name are accepted, but the
/// handshake signatures are still checked, as Go's InsecureSkipVerify does.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// tonic's transport errors say "transport error" at the top and the useful
/// part ("Connection refused") at the bottom of the chain.
pub(super) fn error_chain(error: &dyn StdError) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn a_stream_with_responses_ready_still_gives_the_runtime_its_turn() {
        let mut stream = Cooperative(futures_util::stream::iter(0..1000));
        // Polled again and again within one turn of the task, as a reader
        // with responses ready polls: the budget runs out before the items.
        let ready = std::future::poll_fn(|cx| {
            let mut ready = 0;
            while let Poll::Ready(Some(_)) = Pin::new(&mut stream).poll_next(cx) {
                ready += 1;
            }
            Poll::Ready(ready)
        })
        .await;
        assert!(ready > 0 && ready < 1000, "{ready} items in one turn");
        // After the turn, the rest comes, nothing lost.
        let mut rest = 0;
        while stream.next().await.is_some() {
            rest += 1;
        }
        assert_eq!(ready + rest, 1000);
    }

    #[test]
    fn host_is_taken_from_the_address() {
        assert_eq!(host_of("relay.example:4245"), "relay.example");
        assert_eq!(host_of("[::1]:4245"), "::1");
        assert_eq!(host_of("localhost"), "localhost");
    }

    #[test]
    fn a_connection_lost_mid_stream_is_unavailable_as_in_go() {
        let explainer = Explainer {
            address: "relay:4245".into(),
            target: "relay:4245".into(),
            tls: None,
            greeting: GreetingVerdict::default(),
            hint: String::new(),
        };
        let explain = |error: io::Error| {
            let status = tonic::Status::from_error(Box::new(error));
            assert_eq!(status.code(), tonic::Code::Unknown);
            explainer.explain_status(status).to_string()
        };
        assert_eq!(
            explain(io::Error::new(io::ErrorKind::BrokenPipe, "stream closed")),
            "rpc error: code = Unavailable desc = error reading from server: EOF"
        );
        assert_eq!(
            explain(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "connection reset by peer"
            )),
            "rpc error: code = Unavailable desc = error reading from server: connection reset by peer"
        );
        // What the server says stays as it says it.
        assert_eq!(
            explainer
                .explain_status(tonic::Status::unknown("no flows for you"))
                .to_string(),
            "rpc error: code = Unknown desc = no flows for you"
        );
    }

    #[test]
    fn rustls_errors_are_found_inside_io_errors() {
        let io = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(AlertDescription::CertificateRequired),
        );
        let status = tonic::Status::from_error(Box::new(io));
        assert_eq!(
            find_rustls_error(&status),
            Some(&rustls::Error::AlertReceived(
                AlertDescription::CertificateRequired
            ))
        );
    }
}
