//! `hubl serve`: read the capture, report its bad lines, serve until Ctrl-C.

use std::{fs, io, sync::Arc};

use anyhow::Context;

use super::Outcome;
use crate::{
    cli::ServeCommand,
    serve::{self, Capture, ServeOptions, TlsFiles},
};

pub async fn run(command: &ServeCommand) -> anyhow::Result<Outcome> {
    let (mut capture, bad_lines) = if command.input_file == "-" {
        Capture::read(io::stdin().lock()).context("cannot read the capture from stdin")?
    } else {
        let file = fs::File::open(&command.input_file)
            .with_context(|| format!("cannot read the capture {}", command.input_file))?;
        Capture::read(io::BufReader::new(file))
            .with_context(|| format!("cannot read the capture {}", command.input_file))?
    };
    if command.shift_times {
        capture.shift_times(chrono::Utc::now().into());
    }
    for bad in &bad_lines {
        eprintln!(
            "Warning: {} line {}: {}; skipping it",
            command.input_file, bad.line, bad.reason
        );
    }
    let tls = match (&command.tls_cert_file, &command.tls_key_file) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            certificate: fs::read(cert).with_context(|| format!("cannot read {cert}"))?,
            key: fs::read(key).with_context(|| format!("cannot read {key}"))?,
            client_ca: read_cas(&command.tls_client_ca_files)?,
        }),
        _ => None,
    };
    let listener = serve::listen(&command.listen).await?;
    eprintln!(
        "Serving {} flows from {} on {} (nodes: {})",
        capture.flow_count(),
        command.input_file,
        listener
            .local_addr()
            .map_or_else(|_| command.listen.clone(), |a| a.to_string()),
        capture.nodes.join(", ")
    );
    let options = ServeOptions {
        rate: command.rate,
        tls,
    };
    serve::serve(listener, Arc::new(capture), options, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(Outcome::Success)
}

fn read_cas(paths: &[String]) -> anyhow::Result<Option<Vec<u8>>> {
    if paths.is_empty() {
        return Ok(None);
    }
    let mut bundle = Vec::new();
    for path in paths {
        bundle.extend(fs::read(path).with_context(|| format!("cannot read {path}"))?);
        bundle.push(b'\n');
    }
    Ok(Some(bundle))
}
