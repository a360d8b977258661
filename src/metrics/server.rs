//! `/metrics` over HTTP/1.1, as the agent's metrics server serves it.

use std::sync::{Arc, Mutex};

use http_body_util::Full;
use hyper::{
    Method, Request, Response, StatusCode,
    body::{Bytes, Incoming},
    header::{ACCEPT, CONTENT_TYPE},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::{Format, Metrics};

/// Serves `metrics` on `listener` until the task is dropped. Each scrape
/// takes the lock only to encode.
pub async fn serve(listener: TcpListener, metrics: Arc<Mutex<Metrics>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let metrics = Arc::clone(&metrics);
                async move { Ok::<_, std::convert::Infallible>(respond(&request, &metrics)) }
            });
            // A client that goes away mid-request is its own business.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(request: &Request<Incoming>, metrics: &Mutex<Metrics>) -> Response<Full<Bytes>> {
    let plain = |status: StatusCode, text: &str| {
        Response::builder()
            .status(status)
            .header(CONTENT_TYPE, "text/plain; charset=utf-8")
            .body(Full::new(Bytes::from(text.to_owned())))
            .unwrap_or_default()
    };
    if request.uri().path() != "/metrics" {
        return plain(StatusCode::NOT_FOUND, "404 page not found\n");
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    let accept = request
        .headers()
        .get(ACCEPT)
        .and_then(|value| value.to_str().ok());
    let format = Format::negotiate(accept);
    let body = {
        let mut metrics = metrics
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        metrics.expire_pods();
        metrics.encode(format)
    };
    Response::builder()
        .header(CONTENT_TYPE, format.content_type())
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}
