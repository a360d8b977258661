//! `-P/--port-forward`: reaching hubble-relay through the Kubernetes API, as
//! `hubble -P` does (cilium `pkg/k8s/portforward`): the Service
//! `hubble-relay` in the namespace, the most active of its pods, the
//! service's first port mapped to the pod's container port, then a
//! port-forward of that port.
//!
//! Hubble listens on a local port and dials it; hubl keeps the tunnel in
//! the process instead, a WebSocket port-forward per gRPC connection, so
//! that two commands never fight over a port. It also listens locally only
//! when the user chose a port (`--port-forward-port`), for other programs.

use std::{
    collections::BTreeMap,
    io,
    path::{Path, PathBuf},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use super::grpc::error_chain;
use k8s_openapi::{
    api::core::v1::{Pod, Service},
    apimachinery::pkg::util::intstr::IntOrString,
};
use kube::{
    Api, Client, Config,
    api::ListParams,
    config::{KubeConfigOptions, Kubeconfig},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf},
    net::TcpListener,
};

/// The Service Hubble forwards to; its name is fixed, as in Hubble.
pub const RELAY_SERVICE: &str = "hubble-relay";

/// What `-P` needs: where the kubeconfig is, which context, which
/// namespace, and the local port to listen on, if any.
#[derive(Debug, Clone, Default)]
pub struct PortForwardOptions {
    /// `--kubeconfig`; otherwise `KUBECONFIG`, `~/.kube/config`, then the
    /// in-cluster configuration, as kubectl looks for them.
    pub kubeconfig: Option<PathBuf>,
    /// `--kube-context`; otherwise the kubeconfig's current context.
    pub context: Option<String>,
    /// `--kube-namespace`.
    pub namespace: String,
    /// `--port-forward-port`: the local port Hubble would dial, which
    /// names the server in TLS and messages as in Hubble.
    pub port: u16,
    /// Whether to listen on `port` for other programs: only when the
    /// user chose it. Port 0, "any free port", needs no listening: the
    /// in-process tunnel is that.
    pub listen: bool,
}

/// Why the port-forward could not be set up. The first line of each is
/// Hubble's text for the same failure; the second says what to change.
#[derive(Debug, thiserror::Error)]
pub enum PortForwardError {
    /// No usable kubeconfig or context.
    #[error("failed to create k8s port forwader: {reason}\n{hint}")]
    Config { reason: String, hint: String },

    /// The Service could not be read (missing, forbidden, API server down).
    #[error("failed to port forward: failed to get service \"{RELAY_SERVICE}\": {reason}\n{hint}")]
    Service { reason: String, hint: String },

    /// The Service's pods could not be listed.
    #[error(
        "failed to port forward: failed to get service \"{RELAY_SERVICE}\": failed to get list of pods for service \"{RELAY_SERVICE}\": {reason}\n{hint}"
    )]
    Pods { reason: String, hint: String },

    /// The Service selects no pod.
    #[error(
        "failed to port forward: failed to get service \"{RELAY_SERVICE}\": no pods found for service: {RELAY_SERVICE}\n{hint}"
    )]
    NoPods { hint: String },

    /// The service port does not map to a port of the pod.
    #[error(
        "failed to port forward: failed to lookup container port with service port {port}: {reason}\n{hint}"
    )]
    Port {
        port: i32,
        reason: String,
        hint: String,
    },

    /// The API server did not open the port-forward.
    #[error("failed to port forward: {reason}\n{hint}")]
    Tunnel { reason: String, hint: String },

    /// `--port-forward-port` is taken.
    #[error(
        "failed to port forward: unable to listen on 127.0.0.1:{port}: {source}\n\
         Choose another --port-forward-port, or leave it unset: hubl needs no local port for its own connection"
    )]
    Listen {
        port: u16,
        #[source]
        source: io::Error,
    },
}

/// A resolved port-forward target: a pod and its port, reached through
/// the API server of one context.
pub struct Tunnel {
    pods: Api<Pod>,
    namespace: String,
    pod: String,
    port: u16,
    /// The Service's port that maps to `port`, for kubectl commands.
    service_port: i32,
    context: String,
    cluster_url: String,
    /// The local listener's task, stopped with the tunnel so that the
    /// tunnel of a reconnection can listen on the same port.
    listener: std::sync::OnceLock<tokio::task::AbortHandle>,
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.get() {
            listener.abort();
        }
    }
}

impl std::fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tunnel")
            .field("namespace", &self.namespace)
            .field("pod", &self.pod)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Tunnel {
    /// Finds the relay pod and checks that a port-forward to it opens.
    pub async fn open(options: &PortForwardOptions) -> Result<Arc<Tunnel>, PortForwardError> {
        let (config, context) = load_config(options).await?;
        let cluster_url = config.cluster_url.to_string();
        let client = Client::try_from(config).map_err(|e| PortForwardError::Config {
            reason: e.to_string(),
            hint: format!("The kubeconfig's context '{context}' cannot be used: check its cluster and user entries."),
        })?;
        let api = ApiContext {
            namespace: &options.namespace,
            context: &context,
            cluster_url: &cluster_url,
        };
        let services: Api<Service> = Api::namespaced(client.clone(), &options.namespace);
        let service =
            services
                .get(RELAY_SERVICE)
                .await
                .map_err(|error| PortForwardError::Service {
                    hint: api.service_hint(&error),
                    reason: kube_reason(&error),
                })?;

        let selector = selector_of(&service);
        let pods: Api<Pod> = Api::namespaced(client, &options.namespace);
        let listed = pods
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|error| PortForwardError::Pods {
                hint: api.access_hint(&error),
                reason: kube_reason(&error),
            })?;
        let pod = most_active(listed.items).ok_or_else(|| PortForwardError::NoPods {
            hint: api.no_pods_hint(&selector),
        })?;
        let pod_name = pod.metadata.name.clone().unwrap_or_default();

        let service_port = service
            .spec
            .as_ref()
            .and_then(|spec| spec.ports.as_ref())
            .and_then(|ports| ports.first())
            .map(|port| port.port)
            .ok_or_else(|| PortForwardError::Port {
                port: 0,
                reason: format!("Service {RELAY_SERVICE} has no ports"),
                hint: format!(
                    "The Service {}/{RELAY_SERVICE} declares no port: check it with \
                     `kubectl -n {} get service {RELAY_SERVICE} -o yaml`.",
                    options.namespace, options.namespace
                ),
            })?;
        let port = container_port(&service, &pod, service_port)
            .and_then(|port| {
                u16::try_from(port).map_err(|_| format!("container port {port} is out of range"))
            })
            .map_err(|reason| PortForwardError::Port {
                port: service_port,
                reason,
                hint: format!(
                    "The Service {ns}/{RELAY_SERVICE} and its pod {pod_name} disagree on ports: compare \
                     `kubectl -n {ns} get service {RELAY_SERVICE} -o yaml` with the pod's container ports.",
                    ns = options.namespace
                ),
            })?;

        let tunnel = Tunnel {
            pods,
            namespace: options.namespace.clone(),
            pod: pod_name,
            port,
            service_port,
            context,
            cluster_url,
            listener: std::sync::OnceLock::new(),
        };
        let tunnel = Arc::new(tunnel);
        // Open one forward now, so that a refused upgrade or a missing
        // permission is reported as such, not as a gRPC failure later.
        drop(tunnel.connect().await?);
        if options.listen && options.port != 0 {
            let listener = listen_locally(options.port).await?;
            let task = tokio::spawn(serve_local(listener, Arc::downgrade(&tunnel)));
            let _ = tunnel.listener.set(task.abort_handle());
        }
        Ok(tunnel)
    }

    /// `kube-system/hubble-relay-5d9c-x7k2p:4245`, for messages.
    pub fn describe(&self) -> String {
        format!("{}/{}:{}", self.namespace, self.pod, self.port)
    }

    /// What to check when the forward opens but no gRPC server answers.
    pub fn unanswered_hint(&self) -> String {
        format!(
            "The port-forward to pod {ns}/{pod} opened, but nothing answered on port {port}: is \
             hubble-relay running there? Check with `kubectl --context {context} -n {ns} logs {pod}`.",
            ns = self.namespace,
            pod = self.pod,
            port = self.port,
            context = self.context,
        )
    }

    /// Opens a new forwarded connection to the pod's port. The connection
    /// keeps the tunnel, and so its local listener, alive: a gRPC stream
    /// outlives the channel that dialed it.
    pub async fn connect(self: &Arc<Self>) -> Result<PodStream, PortForwardError> {
        let mut forwarder = self
            .pods
            .portforward(&self.pod, &[self.port])
            .await
            .map_err(|error| self.tunnel_error(&error))?;
        let (Some(stream), Some(error)) = (
            forwarder.take_stream(self.port),
            forwarder.take_error(self.port),
        ) else {
            return Err(PortForwardError::Tunnel {
                reason: format!("no stream for port {}", self.port),
                hint: String::new(),
            });
        };
        Ok(PodStream {
            stream,
            error: Some(Box::pin(error)),
            forwarder,
            _tunnel: Arc::clone(self),
        })
    }

    fn tunnel_error(&self, error: &kube::Error) -> PortForwardError {
        let api = ApiContext {
            namespace: &self.namespace,
            context: &self.context,
            cluster_url: &self.cluster_url,
        };
        let refused = match error {
            kube::Error::UpgradeConnection(_) => true,
            kube::Error::Api(status) => !matches!(status.code, 401 | 403),
            _ => false,
        };
        let hint = if refused {
            format!(
                "The API server at {url} refused to open a WebSocket port-forward to pod {ns}/{pod}. \
                 Kubernetes serves WebSocket port-forwards from 1.30 on; older clusters, or a proxy in \
                 front of the API server, may only offer SPDY, which hubl does not speak. Forward the \
                 port with kubectl and point hubl at it instead:\n  \
                 kubectl --context {context} -n {ns} port-forward svc/{RELAY_SERVICE} 4245:{port} &\n  \
                 hubl observe --server localhost:4245",
                url = self.cluster_url,
                ns = self.namespace,
                pod = self.pod,
                context = self.context,
                port = self.service_port,
            )
        } else {
            api.access_hint(error)
        };
        PortForwardError::Tunnel {
            reason: format!(
                "cannot open a port-forward to pod {}: {}",
                self.describe(),
                kube_reason(error)
            ),
            hint,
        }
    }
}

/// Binds `--port-forward-port`. A reconnection's tunnel may get here while
/// the lost one's connection is still being torn down, its listener with
/// it, so a port in use is tried again for a moment.
async fn listen_locally(port: u16) -> Result<TcpListener, PortForwardError> {
    let mut attempts = 0;
    loop {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => return Ok(listener),
            Err(error) if error.kind() == io::ErrorKind::AddrInUse && attempts < 20 => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(source) => return Err(PortForwardError::Listen { port, source }),
        }
    }
}

/// Accepts local connections on `--port-forward-port` and forwards each
/// through its own tunnel, as `kubectl port-forward` does, for as long as
/// the tunnel lives.
async fn serve_local(listener: TcpListener, tunnel: std::sync::Weak<Tunnel>) {
    while let Ok((mut local, _)) = listener.accept().await {
        let Some(tunnel) = tunnel.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            if let Ok(mut remote) = tunnel.connect().await {
                let _ = tokio::io::copy_bidirectional(&mut local, &mut remote).await;
            }
        });
    }
}

/// One forwarded connection. Reads fail with the pod's message when the
/// kubelet reports an error on the port's error channel (nothing listens
/// there, the pod is gone), instead of ending as if the server had closed.
pub struct PodStream {
    stream: DuplexStream,
    error: Option<Pin<Box<dyn Future<Output = Option<String>> + Send>>>,
    forwarder: kube::api::Portforwarder,
    _tunnel: Arc<Tunnel>,
}

impl Drop for PodStream {
    fn drop(&mut self) {
        self.forwarder.abort();
    }
}

impl AsyncRead for PodStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(failed) = self.reported_error(cx) {
            return Poll::Ready(Err(failed));
        }
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        // kube hands the error over before it closes the data stream, so
        // at the end of the stream the error, if any, is there.
        if matches!(result, Poll::Ready(Ok(())))
            && buf.filled().len() == before
            && let Some(failed) = self.reported_error(cx)
        {
            return Poll::Ready(Err(failed));
        }
        result
    }
}

impl PodStream {
    /// The error the kubelet reported for the port, once it has.
    fn reported_error(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        let error = self.error.as_mut()?;
        let Poll::Ready(message) = error.as_mut().poll(cx) else {
            return None;
        };
        self.error = None;
        message.map(|message| {
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!("the port-forward to the relay pod failed: {message}"),
            )
        })
    }
}

impl AsyncWrite for PodStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Where the API calls went, for hints.
struct ApiContext<'a> {
    namespace: &'a str,
    context: &'a str,
    cluster_url: &'a str,
}

impl ApiContext<'_> {
    fn service_hint(&self, error: &kube::Error) -> String {
        match api_code(error) {
            Some(404) => format!(
                "There is no Service {RELAY_SERVICE} in namespace '{ns}' of context '{context}'. \
                 Is Hubble Relay enabled (`cilium hubble enable`, or the Helm value \
                 hubble.relay.enabled=true)? If Cilium runs in another namespace, name it with \
                 --kube-namespace (e.g. --kube-namespace cilium); for another cluster, pass \
                 --kube-context.",
                ns = self.namespace,
                context = self.context,
            ),
            _ => self.access_hint(error),
        }
    }

    /// What to do about a failed API call other than a missing Service.
    fn access_hint(&self, error: &kube::Error) -> String {
        match api_code(error) {
            Some(401) => format!(
                "The API server at {url} rejected the credentials of context '{context}': they may \
                 have expired. Log in again, and check with `kubectl --context {context} -n {ns} get \
                 service {RELAY_SERVICE}`.",
                url = self.cluster_url,
                context = self.context,
                ns = self.namespace,
            ),
            Some(403) => format!(
                "The user of context '{context}' may not do this: -P needs get on services, list on \
                 pods and create on pods/portforward in namespace '{ns}'.",
                context = self.context,
                ns = self.namespace,
            ),
            Some(_) => format!(
                "The API server at {url} (context '{context}') refused the request.",
                url = self.cluster_url,
                context = self.context,
            ),
            None => format!(
                "The Kubernetes API server at {url} (context '{context}') could not be reached: is \
                 the cluster running, and is this the right context (--kube-context)?",
                url = self.cluster_url,
                context = self.context,
            ),
        }
    }

    fn no_pods_hint(&self, selector: &str) -> String {
        format!(
            "The Service {RELAY_SERVICE} in namespace '{ns}' selects no pod ({selector}): is the \
             hubble-relay Deployment scaled to zero or not scheduled? Check with \
             `kubectl --context {context} -n {ns} get pods -l {selector}`.",
            ns = self.namespace,
            context = self.context,
            selector = if selector.is_empty() {
                "no selector"
            } else {
                selector
            },
        )
    }
}

fn api_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// The API server's message, as client-go shows it (`services
/// "hubble-relay" not found`), or the transport failure.
fn kube_reason(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
        other => error_chain(other),
    }
}

/// Loads the configuration as kubectl does: `--kubeconfig`, else the files
/// in `KUBECONFIG`, else `~/.kube/config`, else the in-cluster service
/// account. Returns the context's name too, for messages.
async fn load_config(options: &PortForwardOptions) -> Result<(Config, String), PortForwardError> {
    let failed = |reason: String, hint: String| PortForwardError::Config { reason, hint };
    let kubeconfig = match &options.kubeconfig {
        Some(path) => Some(read_kubeconfig(path)?),
        None => match Kubeconfig::from_env() {
            Err(error) => {
                return Err(failed(
                    error_chain(&error),
                    "Fix the files that KUBECONFIG names, or point --kubeconfig at a working kubeconfig.".to_owned(),
                ));
            }
            Ok(Some(kubeconfig)) => Some(kubeconfig),
            Ok(None) => match default_kubeconfig() {
                Some(path) if path.exists() => Some(read_kubeconfig(&path)?),
                _ => None,
            },
        },
    };
    let Some(kubeconfig) = kubeconfig else {
        if options.context.is_none()
            && let Ok(config) = Config::incluster()
        {
            return Ok((config, "in-cluster".to_owned()));
        }
        return Err(failed(
            "invalid configuration: no configuration has been provided".to_owned(),
            "No kubeconfig was found (KUBECONFIG is unset and ~/.kube/config does not exist) and \
             hubl is not running in a pod: pass --kubeconfig, or set KUBECONFIG."
                .to_owned(),
        ));
    };
    let contexts: Vec<String> = kubeconfig
        .contexts
        .iter()
        .map(|context| context.name.clone())
        .collect();
    let context = options
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .unwrap_or_default();
    if context.is_empty() {
        return Err(failed(
            "invalid configuration: no context chosen".to_owned(),
            format!(
                "The kubeconfig has no current context: choose one with --kube-context ({}).",
                known_contexts(&contexts)
            ),
        ));
    }
    if !contexts.contains(&context) {
        return Err(failed(
            format!("context \"{context}\" does not exist"),
            format!(
                "Choose one of the kubeconfig's contexts with --kube-context ({}).",
                known_contexts(&contexts)
            ),
        ));
    }
    let config = Config::from_custom_kubeconfig(
        kubeconfig,
        &KubeConfigOptions {
            context: Some(context.clone()),
            ..KubeConfigOptions::default()
        },
    )
    .await
    .map_err(|error| {
        failed(
            error_chain(&error),
            format!("The context '{context}' of the kubeconfig cannot be used: check its cluster and user entries."),
        )
    })?;
    Ok((config, context))
}

fn read_kubeconfig(path: &Path) -> Result<Kubeconfig, PortForwardError> {
    Kubeconfig::read_from(path).map_err(|error| PortForwardError::Config {
        reason: error_chain(&error),
        hint: format!(
            "Check the kubeconfig {} (--kubeconfig, KUBECONFIG or ~/.kube/config).",
            path.display()
        ),
    })
}

fn default_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(|home| PathBuf::from(home).join(".kube").join("config"))
}

fn known_contexts(contexts: &[String]) -> String {
    if contexts.is_empty() {
        "it defines none".to_owned()
    } else {
        format!("it defines: {}", contexts.join(", "))
    }
}

/// The service's selector as a label selector, keys sorted, as Go's
/// `labels.SelectorFromSet` writes it.
fn selector_of(service: &Service) -> String {
    let selector: BTreeMap<&String, &String> = service
        .spec
        .as_ref()
        .and_then(|spec| spec.selector.as_ref())
        .map(|selector| selector.iter().collect())
        .unwrap_or_default();
    selector
        .into_iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The pod kubectl would pick: the greatest in kubectl's `ActivePods`
/// order (assigned, running, ready, not deleting, ready longest, fewest
/// restarts, oldest). Of equals, the first listed.
fn most_active(pods: Vec<Pod>) -> Option<Pod> {
    pods.into_iter()
        .reduce(|best, pod| if less_active(&best, &pod) { pod } else { best })
}

/// kubectl's `ActivePods.Less`: whether `a` is less active than `b`.
fn less_active(a: &Pod, b: &Pod) -> bool {
    let node = |pod: &Pod| {
        pod.spec
            .as_ref()
            .and_then(|spec| spec.node_name.clone())
            .unwrap_or_default()
    };
    let (node_a, node_b) = (node(a), node(b));
    if node_a != node_b && (node_a.is_empty() || node_b.is_empty()) {
        return node_a.is_empty();
    }
    let phase_rank = |pod: &Pod| match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 0,
    };
    if phase_rank(a) != phase_rank(b) {
        return phase_rank(a) < phase_rank(b);
    }
    let (ready_a, ready_b) = (ready_since(a), ready_since(b));
    if ready_a.is_some() != ready_b.is_some() {
        return ready_a.is_none();
    }
    let deleted = |pod: &Pod| pod.metadata.deletion_timestamp.as_ref().map(|t| t.0);
    let (deleted_a, deleted_b) = (deleted(a), deleted(b));
    if deleted_a.is_some() != deleted_b.is_some() {
        return deleted_a.is_some();
    }
    if let (Some(a), Some(b)) = (deleted_a, deleted_b)
        && a != b
    {
        return a < b;
    }
    if let (Some(since_a), Some(since_b)) = (ready_a, ready_b)
        && since_a != since_b
    {
        return after_or_zero(since_a, since_b);
    }
    let (restarts_a, restarts_b) = (restarts(a), restarts(b));
    if restarts_a != restarts_b {
        return restarts_a > restarts_b;
    }
    let created = |pod: &Pod| pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
    let (created_a, created_b) = (created(a), created(b));
    if created_a != created_b {
        return after_or_zero(created_a, created_b);
    }
    false
}

/// When the pod became ready (`None` inside: ready, but no time given),
/// or `None` when it is not ready.
fn ready_since(pod: &Pod) -> Option<Option<k8s_openapi::jiff::Timestamp>> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|condition| condition.type_ == "Ready" && condition.status == "True")
        .map(|condition| condition.last_transition_time.as_ref().map(|t| t.0))
}

/// kubectl's `afterOrZero`: a missing time counts as after any other.
fn after_or_zero(
    a: Option<k8s_openapi::jiff::Timestamp>,
    b: Option<k8s_openapi::jiff::Timestamp>,
) -> bool {
    match (a, b) {
        (None, _) | (_, None) => a.is_none(),
        (Some(a), Some(b)) => a > b,
    }
}

/// The highest restart count of the regular containers, then of the
/// sidecars (init containers that always restart), compared in that order.
fn restarts(pod: &Pod) -> (i32, i32) {
    let Some(status) = pod.status.as_ref() else {
        return (0, 0);
    };
    let regular = status
        .container_statuses
        .iter()
        .flatten()
        .map(|c| c.restart_count)
        .max()
        .unwrap_or(0);
    let sidecars: Vec<&str> = pod
        .spec
        .iter()
        .flat_map(|spec| spec.init_containers.iter().flatten())
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| c.name.as_str())
        .collect();
    let sidecar = status
        .init_container_statuses
        .iter()
        .flatten()
        .filter(|c| sidecars.contains(&c.name.as_str()))
        .map(|c| c.restart_count)
        .max()
        .unwrap_or(0);
    (regular, sidecar)
}

/// kubectl's `LookupContainerPortNumberByServicePort`: the target port of
/// the service port, a named one resolved in the pod's containers.
fn container_port(service: &Service, pod: &Pod, port: i32) -> Result<i32, String> {
    let name = service.metadata.name.as_deref().unwrap_or(RELAY_SERVICE);
    let spec = service.spec.as_ref();
    let headless = spec.and_then(|s| s.cluster_ip.as_deref()) == Some("None");
    for service_port in spec.and_then(|s| s.ports.as_ref()).into_iter().flatten() {
        if service_port.port != port {
            continue;
        }
        if headless {
            return Ok(port);
        }
        return match &service_port.target_port {
            None | Some(IntOrString::Int(0)) => Ok(service_port.port),
            Some(IntOrString::Int(target)) => Ok(*target),
            Some(IntOrString::String(target)) => container_port_named(pod, target),
        };
    }
    Err(format!(
        "Service {name} does not have a service port {port}"
    ))
}

fn container_port_named(pod: &Pod, name: &str) -> Result<i32, String> {
    let spec = pod.spec.as_ref();
    let containers = spec.into_iter().flat_map(|spec| {
        spec.containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
    });
    for container in containers {
        for port in container.ports.iter().flatten() {
            if port.name.as_deref() == Some(name) {
                return Ok(port.container_port);
            }
        }
    }
    Err(format!(
        "Pod '{}' does not have a named port '{name}'",
        pod.metadata.name.as_deref().unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).expect("a valid pod")
    }

    fn ready_pod(name: &str, node: &str, ready_at: &str, restarts: i32) -> Pod {
        pod(serde_json::json!({
            "metadata": {"name": name, "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"nodeName": node, "containers": [{"name": "relay"}]},
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": ready_at}],
                "containerStatuses": [{"name": "relay", "restartCount": restarts, "ready": true,
                    "image": "", "imageID": ""}]
            }
        }))
    }

    fn chosen(pods: Vec<Pod>) -> String {
        most_active(pods).unwrap().metadata.name.unwrap()
    }

    #[test]
    fn the_ready_running_assigned_pod_is_chosen() {
        let pending = pod(serde_json::json!({
            "metadata": {"name": "pending"}, "status": {"phase": "Pending"}
        }));
        let not_ready = pod(serde_json::json!({
            "metadata": {"name": "not-ready"},
            "spec": {"nodeName": "n1", "containers": []},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}
        }));
        let ready = ready_pod("ready", "n2", "2026-01-01T00:01:00Z", 0);
        assert_eq!(
            chosen(vec![pending.clone(), ready.clone(), not_ready.clone()]),
            "ready"
        );
        assert_eq!(chosen(vec![pending, not_ready.clone()]), "not-ready");
    }

    #[test]
    fn of_ready_pods_the_longest_ready_with_fewest_restarts_wins() {
        let older = ready_pod("older", "n1", "2026-01-01T00:01:00Z", 0);
        let newer = ready_pod("newer", "n1", "2026-01-01T00:05:00Z", 0);
        assert_eq!(chosen(vec![newer.clone(), older.clone()]), "older");
        let restarted = ready_pod("restarted", "n1", "2026-01-01T00:01:00Z", 3);
        let steady = ready_pod("steady", "n1", "2026-01-01T00:01:00Z", 0);
        assert_eq!(chosen(vec![restarted, steady]), "steady");
        // Equals: the first listed, as the API server lists by name.
        let twin = ready_pod("twin", "n1", "2026-01-01T00:01:00Z", 0);
        assert_eq!(chosen(vec![older, twin]), "older");
    }

    fn service(json: serde_json::Value) -> Service {
        serde_json::from_value(json).expect("a valid service")
    }

    #[test]
    fn service_ports_map_to_container_ports_as_kubectl_maps_them() {
        let relay = pod(serde_json::json!({
            "metadata": {"name": "relay-1"},
            "spec": {"containers": [{"name": "relay", "ports": [{"name": "grpc", "containerPort": 4245}]}]}
        }));
        let named = service(serde_json::json!({
            "metadata": {"name": "hubble-relay"},
            "spec": {"ports": [{"port": 80, "targetPort": "grpc"}]}
        }));
        assert_eq!(container_port(&named, &relay, 80), Ok(4245));
        let numbered = service(serde_json::json!({
            "metadata": {"name": "hubble-relay"},
            "spec": {"ports": [{"port": 80, "targetPort": 4244}]}
        }));
        assert_eq!(container_port(&numbered, &relay, 80), Ok(4244));
        let omitted = service(serde_json::json!({
            "metadata": {"name": "hubble-relay"}, "spec": {"ports": [{"port": 4245}]}
        }));
        assert_eq!(container_port(&omitted, &relay, 4245), Ok(4245));
        let unknown = service(serde_json::json!({
            "metadata": {"name": "hubble-relay"},
            "spec": {"ports": [{"port": 80, "targetPort": "web"}]}
        }));
        assert_eq!(
            container_port(&unknown, &relay, 80),
            Err("Pod 'relay-1' does not have a named port 'web'".to_owned())
        );
        let headless = service(serde_json::json!({
            "metadata": {"name": "hubble-relay"},
            "spec": {"clusterIP": "None", "ports": [{"port": 80, "targetPort": "web"}]}
        }));
        assert_eq!(container_port(&headless, &relay, 80), Ok(80));
    }

    #[test]
    fn selectors_are_written_with_sorted_keys() {
        let relay = service(serde_json::json!({
            "spec": {"selector": {"k8s-app": "hubble-relay", "app.kubernetes.io/part-of": "cilium"}}
        }));
        assert_eq!(
            selector_of(&relay),
            "app.kubernetes.io/part-of=cilium,k8s-app=hubble-relay"
        );
    }
}
