//! `hubl map`: observe's flows drawn as Hubble UI's service map, once the
//! stream, the capture or `--duration` ends (or at Ctrl-C).

use std::{
    io::{self, BufWriter, Write},
    ops::ControlFlow,
    sync::Arc,
};

use super::{
    Outcome, Settings,
    aggregate::{self, Clock},
    observe,
};
use crate::{
    cli::{MapCommand, MapGrouping, MapOutput},
    map::{Format, Grouping, ServiceMap},
    printer,
    serve::Demo,
};

/// Flows Hubble UI asks for when nothing says how many
/// (`GET_FLOWS_LAST` in its backend).
const DEFAULT_LAST: u64 = 10_000;

pub async fn run(command: &MapCommand, settings: &Arc<Settings>) -> anyhow::Result<Outcome> {
    let mut args = command.observe_args();
    let selectors = &mut args.selectors;
    if !selectors.all
        && selectors.first == 0
        && selectors.last == 0
        && selectors.since.is_none()
        && selectors.until.is_none()
    {
        selectors.last = DEFAULT_LAST;
    }
    let grouping = match command.group_by {
        None => Grouping::Service,
        Some(MapGrouping::Namespace) => Grouping::Namespace,
        Some(MapGrouping::Workload) => Grouping::Workload,
        Some(MapGrouping::Pod) => Grouping::Pod,
    };
    let format = match command.output {
        MapOutput::Json => Format::Json,
        MapOutput::Dot => Format::Dot,
        MapOutput::Mermaid => Format::Mermaid,
        MapOutput::Svg => Format::Svg,
        MapOutput::Html => Format::Html,
    };
    let max_links = usize::try_from(command.max_links).unwrap_or(usize::MAX);
    let mut map = ServiceMap::new(grouping, command.ip_translation, max_links);
    let follow = args.selectors.follow;
    let request = aggregate::request(&args, map.key(), follow)?;
    if args.other.print_raw_filters {
        let mut stdout = io::stdout().lock();
        printer::write_raw_filters(&mut stdout, &request)?;
        stdout.flush()?;
        return Ok(Outcome::Success);
    }
    let demo = match args.other.demo {
        true => Some(Demo::start().await?),
        false => None,
    };
    // Cards need labels, workloads and names at every grouping.
    let stream = observe::flows(
        observe::Source {
            input_file: args.other.input_file.as_deref(),
            headline_only: false,
            follow,
            reconnect: args.selectors.reconnect,
            demo: demo.as_ref(),
        },
        request,
        settings,
    )
    .await?;
    let mut clock = match follow {
        true => Clock::wall(),
        false => Clock::Flows { latest: 0 },
    };
    let ticks = command
        .duration
        .map(|duration| tokio::time::interval_at(tokio::time::Instant::now() + duration, duration));
    let outcome = aggregate::feed(
        stream,
        &mut map,
        &mut clock,
        args.other.silent_errors,
        ticks,
        |_, _| Ok(ControlFlow::Break(())),
    )
    .await?;
    let (links, flows) = map.evicted();
    if links > 0 && !args.other.silent_errors {
        eprintln!(
            "Warning: {links} links ({flows} flows) were evicted to stay within --max-links {}; raise it to keep them",
            command.max_links
        );
    }
    let mut out = BufWriter::new(io::stdout().lock());
    map.snapshot().write(&mut out, format)?;
    out.flush()?;
    Ok(outcome)
}
