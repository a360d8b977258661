//! Flows from a Hubble server (hubble-relay or a Cilium agent) over gRPC.

use std::time::Duration;

use tokio_stream::StreamExt;
use tonic::transport::{Channel, Endpoint, Uri};

use super::{ResponseStream, SourceError};
use crate::proto::observer::{GetFlowsRequest, observer_client::ObserverClient};

/// A connected Observer client.
pub struct GrpcSource {
    client: ObserverClient<Channel>,
}

impl GrpcSource {
    /// Wraps an established channel.
    pub fn new(channel: Channel) -> Self {
        // Flows can be large (long label lists); a relay sends up to its own
        // limit, so do not refuse what it sends.
        let client = ObserverClient::new(channel).max_decoding_message_size(usize::MAX);
        Self { client }
    }

    /// Calls Observer.GetFlows; responses are yielded as they arrive.
    pub async fn get_flows(
        &mut self,
        request: GetFlowsRequest,
    ) -> Result<ResponseStream, SourceError> {
        let stream = self.client.get_flows(request).await?.into_inner();
        Ok(Box::pin(stream.map(|item| item.map_err(SourceError::from))))
    }
}

/// Dials `address` (`host:port`, `tls://host:port` or `unix:///path`) and
/// waits at most `timeout` for the connection.
pub async fn connect(address: &str, timeout: Duration) -> Result<Channel, SourceError> {
    let failed = |reason: String| SourceError::Connect {
        address: address.to_owned(),
        reason,
    };
    if let Some(path) = address.strip_prefix("unix://") {
        let path = path.to_owned();
        let endpoint = Endpoint::from_static("http://localhost").connect_timeout(timeout);
        let connector = tower_service_fn(path);
        return tokio::time::timeout(timeout, endpoint.connect_with_connector(connector))
            .await
            .map_err(|_| failed(format!("no connection within {timeout:?}")))?
            .map_err(|e| failed(error_chain(&e)));
    }
    let uri: Uri = match address.strip_prefix("tls://") {
        Some(rest) => format!("https://{rest}"),
        None => format!("http://{address}"),
    }
    .parse()
    .map_err(|e: tonic::codegen::http::uri::InvalidUri| {
        failed(format!("not a valid address: {e}"))
    })?;
    let endpoint = Endpoint::from(uri).connect_timeout(timeout);
    tokio::time::timeout(timeout, endpoint.connect())
        .await
        .map_err(|_| failed(format!("no connection within {timeout:?}")))?
        .map_err(|e| failed(error_chain(&e)))
}

fn tower_service_fn(
    path: String,
) -> impl tower_service::Service<
    Uri,
    Response = hyper_util::rt::TokioIo<tokio::net::UnixStream>,
    Error = std::io::Error,
    Future = impl Send,
> + Clone {
    tower::service_fn(move |_: Uri| {
        let path = path.clone();
        async move {
            let stream = tokio::net::UnixStream::connect(path).await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(stream))
        }
    })
}

/// tonic's transport errors say "transport error" at the top and the useful
/// part ("Connection refused") at the bottom of the chain.
fn error_chain(error: &dyn std::error::Error) -> String {
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
