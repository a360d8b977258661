//! `hubl metrics`.

use std::{
    env,
    io::{self, Write},
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, bail};
use serde_yaml_ng::Value;
use tokio_stream::StreamExt;

use super::{Outcome, Settings};
use crate::{
    cli::{MetricsCommand, MetricsOutput},
    duration, filter,
    metrics::{self, Format, Metrics},
    serve::Demo,
    source,
};

/// How often stale pod series are looked for between scrapes, so that
/// memory stays bounded even when nobody scrapes.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(30);

pub async fn run(command: &MetricsCommand, settings: &Arc<Settings>) -> anyhow::Result<Outcome> {
    let (spec, from) = spec_values(command, settings);
    let metrics = metrics::parse_spec(&spec)
        .and_then(|specs| Metrics::new(&specs))
        .map_err(|error| anyhow::anyhow!("invalid {from} {:?}: {error}", spec.join(" ")))?;
    let ttl = duration::parse(&command.pod_series_ttl).ok_or_else(|| {
        anyhow::anyhow!(
            "invalid --pod-series-ttl {:?}: want a duration such as 5m, 90s or 0",
            command.pod_series_ttl
        )
    })?;
    let metrics = metrics.with_pod_series_ttl((!ttl.is_zero()).then_some(ttl));

    let from_file = command.input_file.is_some();
    let mut selectors = command.selectors.clone();
    let chosen = selectors.follow
        || selectors.all
        || selectors.first > 0
        || selectors.last > 0
        || selectors.since.is_some()
        || selectors.until.is_some();
    // An exporter follows the stream unless told which flows to count.
    if !from_file && !chosen {
        selectors.follow = true;
    }
    let follow = selectors.follow && !from_file;
    let request = filter::build_request(
        &filter::RequestFlags {
            selectors: &selectors,
            filters: &command.filter_order,
            allowlist: &command.raw_filters.allowlist,
            denylist: &command.raw_filters.denylist,
            field_mask: &[],
            use_default_field_masks: false,
            // Metrics read fields no printed format shows: no field mask.
            json_output: true,
            from_file,
        },
        chrono::Utc::now(),
    )?;

    let listen: Option<SocketAddr> = match follow {
        true => Some(command.listen.parse().map_err(|_| {
            anyhow::anyhow!(
                "invalid --listen {:?}: want an address and port such as 127.0.0.1:9965 or [::]:9965",
                command.listen
            )
        })?),
        false => None,
    };
    let listener = match listen {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} (--listen)"))?,
        ),
        None => None,
    };

    let demo = match command.demo {
        true => Some(Demo::start().await?),
        false => None,
    };
    let (stream, counted) = super::observe::flows(
        super::observe::Source {
            input_file: command.input_file.as_deref(),
            headline_only: false,
            follow,
            reconnect: selectors.reconnect,
            demo: demo.as_ref(),
        },
        request,
        settings,
    )
    .await?;
    let metrics = Arc::new(Mutex::new(metrics.live(follow)));
    match listener {
        Some(listener) => {
            if !command.silent_errors {
                eprintln!(
                    "Serving Hubble metrics on http://{}/metrics",
                    listener
                        .local_addr()
                        .map_or(command.listen.clone(), |a| a.to_string())
                );
            }
            let server = tokio::spawn(metrics::serve(listener, Arc::clone(&metrics)));
            let outcome = count(stream, counted, &metrics, command.silent_errors, true).await;
            server.abort();
            outcome
        }
        None => {
            let outcome = count(stream, counted, &metrics, command.silent_errors, false).await?;
            if outcome == Outcome::Success {
                let metrics = metrics.lock().unwrap_or_else(|p| p.into_inner());
                print(&metrics, command.output)?;
            }
            Ok(outcome)
        }
    }
}

/// Where the spec comes from: the flag, `HUBBLE_METRICS`, the config file's
/// `metrics` key (a list or a string), or the default. The second value
/// names the source for messages.
fn spec_values(command: &MetricsCommand, settings: &Settings) -> (Vec<String>, String) {
    if !command.metrics.is_empty() {
        return (command.metrics.clone(), "--metrics".to_owned());
    }
    if let Ok(value) = env::var("HUBBLE_METRICS")
        && !value.is_empty()
    {
        return (vec![value], "HUBBLE_METRICS".to_owned());
    }
    if let Some(value) = settings.layers().all_settings().get("metrics") {
        let from = settings
            .layers()
            .file_path()
            .map_or_else(|| "the config file".to_owned(), |p| p.display().to_string());
        let values = match value {
            Value::Sequence(items) => items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect(),
            Value::String(text) => vec![text.clone()],
            _ => Vec::new(),
        };
        return (values, format!("metrics in {from}"));
    }
    (
        vec![metrics::DEFAULT_METRICS.to_owned()],
        "--metrics".to_owned(),
    )
}

/// Counts the stream until it ends (or Ctrl-C). Following, the end of the
/// stream is an error: an exporter whose counts stopped must not look
/// healthy.
async fn count(
    mut stream: source::ResponseStream,
    counted: source::Printed<source::Flows>,
    metrics: &Mutex<Metrics>,
    silent_errors: bool,
    follow: bool,
) -> anyhow::Result<Outcome> {
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    if super::listen_for_interrupt(interrupt.as_mut()).await {
        return Ok(Outcome::Interrupted);
    }
    let mut expiry = tokio::time::interval(EXPIRY_INTERVAL);
    expiry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let item = tokio::select! {
            item = stream.next() => item,
            _ = &mut interrupt => return Ok(Outcome::Interrupted),
            _ = expiry.tick(), if follow => {
                metrics.lock().unwrap_or_else(|p| p.into_inner()).expire_pods();
                continue;
            }
        };
        match item {
            None if follow => bail!("the server ended the flow stream"),
            None => return Ok(Outcome::Success),
            Some(Ok(response)) => {
                metrics
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .process(&response);
                counted.give(response);
            }
            Some(Err(error)) if error.is_notice() => {
                if matches!(error, source::SourceError::Reconnected { .. }) {
                    metrics
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .count_reconnect();
                }
                if !silent_errors {
                    eprintln!("{error}");
                }
            }
            Some(Err(error)) if error.is_recoverable() => {
                if !silent_errors {
                    eprintln!("Warning: {error}");
                }
            }
            Some(Err(error)) => return Err(error.into()),
        }
    }
}

fn print(metrics: &Metrics, output: MetricsOutput) -> anyhow::Result<()> {
    let text = match output {
        MetricsOutput::Prometheus => metrics.encode(Format::Prometheus),
        MetricsOutput::Openmetrics => metrics.encode(Format::OpenMetrics),
        MetricsOutput::Json => {
            let mut text = serde_json::to_string_pretty(&metrics.to_json())?;
            text.push('\n');
            text
        }
    };
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}
