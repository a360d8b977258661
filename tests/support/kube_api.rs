//! A fake Kubernetes API server for `-P`: HTTPS with a CA generated per
//! test, the Services and Pods of one cluster, and the `pods/NAME/portforward`
//! WebSocket subresource speaking `v4.channel.k8s.io` (a data and an error
//! channel per port, each opened by a frame with the port number), bridged
//! to an in-process `hubl serve` for pods whose container port is the
//! relay's. It checks a bearer token or a client certificate, as an API
//! server does, and logs every request it answers.

use std::{
    convert::Infallible,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::{
    Request, Response, StatusCode,
    body::{Bytes, Incoming},
    header,
    service::service_fn,
};
use hyper_util::rt::TokioIo;
use rustls::{
    RootCertStore, ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::WebPkiClientVerifier,
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{Message, handshake::derive_accept_key, protocol::Role},
};

use super::pki::Pki;

/// The bearer token the fake API server accepts.
pub const TOKEN: &str = "hubl-test-token";

/// What the cluster holds and how its API server behaves.
pub struct Cluster {
    /// Services, as JSON objects with `metadata.namespace`.
    pub services: Vec<Value>,
    /// Pods, as JSON objects with `metadata.namespace` and labels.
    pub pods: Vec<Value>,
    /// Where forwarded connections to `relay_port` go.
    pub relay: SocketAddr,
    /// The container port the relay listens on in its pods.
    pub relay_port: u16,
    /// Answer port-forward upgrades with 400, as an API server or proxy
    /// that offers no WebSocket port-forward does.
    pub refuse_upgrade: bool,
}

impl Cluster {
    /// A cluster whose relay pods listen on the relay's own port and whose
    /// API server forwards as asked.
    pub fn new(relay: SocketAddr, services: Vec<Value>, pods: Vec<Value>) -> Self {
        Self {
            services,
            pods,
            relay,
            relay_port: relay.port(),
            refuse_upgrade: false,
        }
    }
}

/// A relay Service in `namespace` selecting `k8s-app=hubble-relay`, port
/// 80 to `target_port` (a number or a port name).
pub fn relay_service(namespace: &str, target_port: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "hubble-relay", "namespace": namespace},
        "spec": {
            "selector": {"k8s-app": "hubble-relay"},
            "ports": [{"name": "grpc", "port": 80, "protocol": "TCP", "targetPort": target_port}]
        }
    })
}

/// A relay pod in `namespace`, ready or not, with a container port named
/// `grpc`.
pub fn relay_pod(namespace: &str, name: &str, port: u16, ready: bool) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"k8s-app": "hubble-relay"},
            "creationTimestamp": "2026-11-30T10:00:00Z"
        },
        "spec": {
            "nodeName": "kind-worker",
            "containers": [{"name": "hubble-relay", "ports": [{"name": "grpc", "containerPort": port}]}]
        },
        "status": {
            "phase": "Running",
            "conditions": [{
                "type": "Ready",
                "status": if ready { "True" } else { "False" },
                "lastTransitionTime": "2026-11-30T10:00:05Z"
            }]
        }
    })
}

/// How the kubeconfig's user authenticates.
pub enum User {
    Token(&'static str),
    ClientCertificate,
    /// An exec plugin (a shell script) that prints the token.
    Exec,
}

/// A running fake API server.
pub struct FakeKubeApi {
    pub address: SocketAddr,
    pki: Pki,
    log: Arc<Mutex<Vec<String>>>,
    /// Serves until dropped.
    _runtime: tokio::runtime::Runtime,
}

struct State {
    cluster: Cluster,
    log: Arc<Mutex<Vec<String>>>,
}

impl FakeKubeApi {
    pub fn start(cluster: Cluster) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let pki = Pki::generate();
        let tls = tokio_rustls::TlsAcceptor::from(Arc::new(server_config(&pki)));
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(State {
            cluster,
            log: Arc::clone(&log),
        });
        let address = runtime.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a loopback port");
            let address = listener.local_addr().expect("a bound address");
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (tls, state) = (tls.clone(), Arc::clone(&state));
                    tokio::spawn(async move {
                        let Ok(stream) = tls.accept(stream).await else {
                            return;
                        };
                        let client_cert = stream.get_ref().1.peer_certificates().is_some();
                        let service = service_fn(move |request| {
                            let state = Arc::clone(&state);
                            async move { Ok::<_, Infallible>(answer(&state, client_cert, request)) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .with_upgrades()
                            .await;
                    });
                }
            });
            address
        });
        Self {
            address,
            pki,
            log,
            _runtime: runtime,
        }
    }

    /// Writes a kubeconfig for this server into `dir`, with one context,
    /// `fake`, whose user authenticates as `user` says.
    pub fn kubeconfig(&self, dir: &Path, user: User) -> PathBuf {
        let b64 = |text: &str| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.encode(text)
        };
        let user = match user {
            User::Token(token) => json!({"token": token}),
            User::ClientCertificate => json!({
                "client-certificate-data": b64(&self.pki.client_cert),
                "client-key-data": b64(&self.pki.client_key),
            }),
            User::Exec => {
                let script = dir.join("credential-plugin.sh");
                std::fs::write(
                    &script,
                    format!(
                        "#!/bin/sh\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\
                         \"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{TOKEN}\"}}}}'\n"
                    ),
                )
                .expect("the plugin is written");
                make_executable(&script);
                json!({"exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": script.display().to_string(),
                    "interactiveMode": "Never"
                }})
            }
        };
        let config = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "fake",
            "clusters": [{"name": "fake", "cluster": {
                "server": format!("https://{}", self.address),
                "certificate-authority-data": b64(&self.pki.ca),
            }}],
            "users": [{"name": "fake-user", "user": user}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake-user"}}],
        });
        let path = dir.join("kubeconfig");
        std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap())
            .expect("the kubeconfig is written");
        path
    }

    /// `METHOD PATH?QUERY` of every request answered, in order.
    pub fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .expect("the plugin is executable");
}

fn server_config(pki: &Pki) -> ServerConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pki.ca.as_bytes()) {
        roots
            .add(cert.expect("the CA parses"))
            .expect("the CA is added");
    }
    // Client certificates are one way to log in, not the only one.
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
            .allow_unauthenticated()
            .build()
            .expect("a client verifier");
    let certs = CertificateDer::pem_slice_iter(pki.server_cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("the certificate parses");
    let key = PrivateKeyDer::from_pem_slice(pki.server_key.as_bytes()).expect("the key parses");
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .expect("a server config");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

type Answer = Response<Full<Bytes>>;

fn answer(state: &State, client_cert: bool, request: Request<Incoming>) -> Answer {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    state
        .log
        .lock()
        .unwrap()
        .push(format!("{} {path}?{query}", request.method()));
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    if !bearer && !client_cert {
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api", "v1", "namespaces", namespace, "services", name] => {
            match find(&state.cluster.services, namespace, name) {
                Some(service) => json_response(service.clone()),
                None => status(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    &format!("services \"{name}\" not found"),
                ),
            }
        }
        ["api", "v1", "namespaces", namespace, "pods"] => {
            let selector = query_value(&query, "labelSelector").unwrap_or_default();
            let items: Vec<Value> = state
                .cluster
                .pods
                .iter()
                .filter(|pod| pod["metadata"]["namespace"] == *namespace)
                .filter(|pod| matches_selector(pod, &selector))
                .cloned()
                .collect();
            json_response(json!({
                "apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items
            }))
        }
        [
            "api",
            "v1",
            "namespaces",
            namespace,
            "pods",
            name,
            "portforward",
        ] => {
            if state.cluster.refuse_upgrade {
                return Response::builder()
                    .status(StatusCode::BAD_REQUEST)
                    .body(Full::new(Bytes::from_static(b"Upgrade request required")))
                    .unwrap();
            }
            if find(&state.cluster.pods, namespace, name).is_none() {
                return status(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    &format!("pods \"{name}\" not found"),
                );
            }
            let port: u16 = query_value(&query, "ports")
                .and_then(|ports| ports.parse().ok())
                .unwrap_or_default();
            upgrade(state, request, port)
        }
        _ => status(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
        ),
    }
}

fn find<'a>(objects: &'a [Value], namespace: &str, name: &str) -> Option<&'a Value> {
    objects.iter().find(|object| {
        object["metadata"]["namespace"] == namespace && object["metadata"]["name"] == name
    })
}

fn query_value(query: &str, key: &str) -> Option<String> {
    url_pairs(query)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn matches_selector(pod: &Value, selector: &str) -> bool {
    selector
        .split(',')
        .filter(|term| !term.is_empty())
        .all(|term| match term.split_once('=') {
            Some((key, value)) => pod["metadata"]["labels"][key] == value,
            None => false,
        })
}

fn json_response(value: Value) -> Answer {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(value.to_string())))
        .unwrap()
}

fn status(code: StatusCode, reason: &str, message: &str) -> Answer {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code.as_u16()
    });
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// Switches to the WebSocket port-forward protocol and bridges its data
/// channel to the relay, or reports on the error channel that nothing
/// listens on the port, as the kubelet does.
fn upgrade(state: &State, request: Request<Incoming>, port: u16) -> Answer {
    let offered = request
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let Some(key) = request.headers().get(header::SEC_WEBSOCKET_KEY).cloned() else {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "not a WebSocket upgrade",
        );
    };
    if !offered.split(',').any(|p| p.trim() == "v4.channel.k8s.io") {
        return status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "v4.channel.k8s.io not offered",
        );
    }
    let relay = (port == state.cluster.relay_port).then_some(state.cluster.relay);
    tokio::spawn(async move {
        let Ok(upgraded) = hyper::upgrade::on(request).await else {
            return;
        };
        let socket =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        bridge(socket, port, relay).await;
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header(
            header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        )
        .header(header::SEC_WEBSOCKET_PROTOCOL, "v4.channel.k8s.io")
        .body(Full::new(Bytes::new()))
        .unwrap()
}

async fn bridge<S>(socket: WebSocketStream<S>, port: u16, relay: Option<SocketAddr>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut sink, mut stream) = socket.split();
    let [low, high] = port.to_le_bytes();
    for channel in [0u8, 1] {
        if sink
            .send(Message::binary(vec![channel, low, high]))
            .await
            .is_err()
        {
            return;
        }
    }
    let connected = match relay {
        Some(relay) => TcpStream::connect(relay).await.ok(),
        None => None,
    };
    let Some(tcp) = connected else {
        let mut message = vec![1u8];
        message.extend_from_slice(
            format!("error forwarding port {port} to pod: dial tcp4 127.0.0.1:{port}: connect: connection refused")
                .as_bytes(),
        );
        let _ = sink.send(Message::binary(message)).await;
        // The port is unusable now; the client hangs up.
        while let Some(Ok(message)) = stream.next().await {
            if message.is_close() {
                break;
            }
        }
        return;
    };
    let (mut from_relay, mut to_relay) = tcp.into_split();
    let upstream = async {
        while let Some(Ok(message)) = stream.next().await {
            let data = match message {
                Message::Binary(data) if data.first() == Some(&0) => data,
                Message::Close(_) => break,
                _ => continue,
            };
            if to_relay.write_all(&data[1..]).await.is_err() {
                break;
            }
        }
        let _ = to_relay.shutdown().await;
    };
    let downstream = async {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match from_relay.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let mut message = Vec::with_capacity(n + 1);
                    message.push(0u8);
                    message.extend_from_slice(&buffer[..n]);
                    if sink.send(Message::binary(message)).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = sink.send(Message::Close(None)).await;
    };
    tokio::join!(upstream, downstream);
}
