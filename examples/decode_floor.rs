//! The floor that `scripts/bench.sh` measures hubl's gRPC paths against: a
//! client that asks for every flow, as `hubl observe --all` does, decodes
//! each `GetFlowsResponse` into the generated types with tonic and prost,
//! and drops it. A client that prints what it receives pays at least this
//! much unless it decodes less. It dials as hubl does (HTTP/2 windows sized
//! from the measured bandwidth-delay product), so that the two differ only
//! in what they do with the responses.
//!
//! `cargo run --release --example decode_floor -- ADDRESS`
//!
//! It prints the number of responses received, on stderr.

use std::process::ExitCode;

use hubl::proto::observer::{GetFlowsRequest, observer_client::ObserverClient};
use tonic::transport::Endpoint;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Some(address) = std::env::args().nth(1) else {
        eprintln!("usage: decode_floor ADDRESS (e.g. 127.0.0.1:4245)");
        return ExitCode::FAILURE;
    };
    match receive(&address).await {
        Ok(count) => {
            eprintln!("{count} responses");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("decode_floor {address}: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn receive(address: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let channel = Endpoint::from_shared(format!("http://{address}"))?
        .http2_adaptive_window(true)
        .connect()
        .await?;
    let mut client = ObserverClient::new(channel).max_decoding_message_size(usize::MAX);
    let request = GetFlowsRequest {
        number: u64::MAX,
        ..GetFlowsRequest::default()
    };
    let mut stream = client.get_flows(request).await?.into_inner();
    let mut count = 0;
    while let Some(response) = stream.message().await? {
        std::hint::black_box(response);
        count += 1;
    }
    Ok(count)
}
