//! `hubl top`: observe's stream grouped, live. On a terminal, a full-screen
//! view (`crate::top`) redrawn every interval and at each key; otherwise,
//! as `top -b`, the table once per interval.

use std::{
    io::{self, BufWriter, IsTerminal, Write},
    ops::ControlFlow,
    sync::Arc,
    time::Duration,
};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;

use super::{
    Outcome, Settings,
    aggregate::{self, Clock},
    observe,
};
use crate::{
    aggregate::{Aggregator, Summary, SummaryFormat},
    cli::{Output, SortOrder, TopCommand},
    printer,
    serve::Demo,
    source::{Flows, Printed, ResponseStream},
    top::{self, Action, Header, Input, State},
};

/// How often the view is redrawn unless `--aggregate-interval` says.
const DEFAULT_REFRESH: Duration = Duration::from_secs(1);

/// Rates are measured over this window: long enough to be steady, short
/// enough to follow a change within seconds.
const RATE_WINDOW_MS: u64 = 10_000;

/// Responses taken at most before the view looks at keys and the clock.
const BATCH: usize = 4096;

pub async fn run(command: &TopCommand, settings: &Arc<Settings>) -> anyhow::Result<Outcome> {
    let args = &command.args;
    let key = aggregate::key_of(args)?;
    let from_file = args.other.input_file.is_some();
    // History and then new flows, unless the flags ask for a fixed set.
    let follow = !from_file && args.selectors.first == 0;
    let request = aggregate::request(args, &key, follow)?;
    if args.other.print_raw_filters {
        let mut stdout = io::stdout().lock();
        printer::write_raw_filters(&mut stdout, &request)?;
        stdout.flush()?;
        return Ok(Outcome::Success);
    }
    // Batch output is a table, as top's, unless JSON is asked for.
    let format = match args.formatting.output {
        Output::Json | Output::Jsonpb => SummaryFormat::Json,
        _ => SummaryFormat::Table,
    };
    let summary = Summary {
        format,
        time_format: observe::time_format(&args.formatting.time_format),
        sort: aggregate::sort_by(args.aggregate.sort_by.unwrap_or(SortOrder::Rate)),
    };
    let refresh = args.aggregate.aggregate_interval.unwrap_or(DEFAULT_REFRESH);
    let demo = match args.other.demo {
        true => Some(Demo::start().await?),
        false => None,
    };
    let header = Header {
        source: match (&args.other.input_file, &demo) {
            (Some(path), _) => format!("file {path}"),
            (None, Some(demo)) => format!("demo relay {}", demo.server()),
            (None, None) => settings.layers().string("server").unwrap_or_default(),
        },
        filters: top::describe_filters(&args.filter_order),
    };
    let aggregator: Aggregator = Aggregator::new(key, aggregate::max_groups(args), RATE_WINDOW_MS);
    let stream = aggregate::open(args, request, settings, demo.as_ref(), &aggregator).await?;
    let clock = match from_file {
        true => Clock::Flows { latest: 0 },
        false => Clock::wall(),
    };
    if command.batch || !io::stdout().is_terminal() {
        return batch(
            stream, aggregator, clock, summary, refresh, command, &header,
        )
        .await;
    }
    let options = observe::print_options(&args.formatting, false);
    let state = State::new(
        aggregator.key().clone(),
        summary,
        options,
        aggregate::max_groups(args),
        RATE_WINDOW_MS,
        header,
    );
    interactive(stream, state, clock, refresh, command).await
}

/// `top -b`: a title line and the table every interval, and once more
/// at the end of the stream.
async fn batch(
    stream: (ResponseStream, Printed<Flows>),
    mut aggregator: Aggregator,
    mut clock: Clock,
    summary: Summary,
    refresh: Duration,
    command: &TopCommand,
    header: &Header,
) -> anyhow::Result<Outcome> {
    let mut out = BufWriter::new(io::stdout().lock());
    let updates = std::cell::Cell::new(0u64);
    let mut write = |aggregator: &Aggregator, clock: &Clock| -> io::Result<ControlFlow<()>> {
        let now = clock.now();
        let total = aggregator.total();
        if updates.get() > 0 {
            writeln!(out)?;
        }
        if summary.format != SummaryFormat::Json {
            writeln!(
                out,
                "hubl top - {} - {:.1} flows/s, {} flows, {} groups, {} evicted, sorted by {}, filters: {}",
                header.source,
                aggregator.rate(total, now),
                total.flows,
                aggregator.len(),
                aggregator.evicted().0,
                summary.sort.name(),
                header.filters,
            )?;
        }
        summary.write(&mut out, aggregator, now)?;
        out.flush()?;
        updates.set(updates.get() + 1);
        Ok(
            match command
                .iterations
                .is_some_and(|limit| updates.get() >= limit)
            {
                true => ControlFlow::Break(()),
                false => ControlFlow::Continue(()),
            },
        )
    };
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + refresh, refresh);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let silent = command.args.other.silent_errors;
    let outcome = aggregate::feed(
        stream,
        &mut aggregator,
        &mut clock,
        silent,
        Some(ticks),
        &mut write,
    )
    .await?;
    let limit_reached = command
        .iterations
        .is_some_and(|limit| updates.get() >= limit);
    if !limit_reached {
        let _ = write(&aggregator, &clock)?;
    }
    Ok(outcome)
}

/// Raw mode and the alternate screen for as long as this lives; the
/// terminal is restored however the view ends.
struct Screen {
    terminal: ratatui::DefaultTerminal,
}

impl Screen {
    fn enter() -> io::Result<Self> {
        Ok(Self {
            terminal: ratatui::try_init()?,
        })
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.terminal.show_cursor();
        ratatui::restore();
    }
}

/// Key presses, read on a thread of their own: crossterm's `read` blocks.
fn keys() -> mpsc::Receiver<Input> {
    let (sender, receiver) = mpsc::channel(16);
    // Without the thread the sender is gone: the view shows without keys,
    // and Ctrl-C still ends it through the signal.
    let _ = std::thread::Builder::new()
        .name("hubl-top-keys".into())
        .spawn(move || {
            loop {
                let input = match event::read() {
                    Ok(Event::Key(key)) if key.kind != KeyEventKind::Release => match key.code {
                        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                            Input::Interrupt
                        }
                        KeyCode::Char(c) => Input::Char(c),
                        KeyCode::Up => Input::Up,
                        KeyCode::Down => Input::Down,
                        KeyCode::Enter => Input::Enter,
                        KeyCode::Esc => Input::Escape,
                        _ => continue,
                    },
                    // A redraw at the new size.
                    Ok(Event::Resize(..)) => Input::Char('\0'),
                    Ok(_) => continue,
                    Err(_) => return,
                };
                if sender.blocking_send(input).is_err() {
                    return;
                }
            }
        });
    receiver
}

async fn interactive(
    (mut stream, consumed): (ResponseStream, Printed<Flows>),
    mut state: State,
    mut clock: Clock,
    refresh: Duration,
    command: &TopCommand,
) -> anyhow::Result<Outcome> {
    let mut screen = Screen::enter()?;
    let mut keys = keys();
    let mut ticks = tokio::time::interval(refresh);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut interrupt = std::pin::pin!(tokio::signal::ctrl_c());
    let _ = super::listen_for_interrupt(interrupt.as_mut()).await;
    let mut updates = 0u64;
    let mut warnings = Vec::new();
    let outcome = loop {
        tokio::select! {
            biased;
            input = keys.recv() => {
                let Some(input) = input else { continue };
                if state.handle(input, clock.now()) == Action::Quit {
                    break match input {
                        Input::Interrupt => Outcome::Interrupted,
                        _ => Outcome::Success,
                    };
                }
                screen.terminal.draw(|frame| top::render(frame, &state))?;
            }
            _ = &mut interrupt => break Outcome::Interrupted,
            _ = ticks.tick() => {
                state.refresh(clock.now());
                screen.terminal.draw(|frame| top::render(frame, &state))?;
                updates += 1;
                if command.iterations.is_some_and(|limit| updates >= limit) {
                    break Outcome::Success;
                }
            }
            item = stream.next(), if !state.ended => {
                let mut item = item;
                for _ in 0..BATCH {
                    match item {
                        None => {
                            state.ended = true;
                            state.refresh(clock.now());
                            screen.terminal.draw(|frame| top::render(frame, &state))?;
                            break;
                        }
                        Some(Ok(response)) => {
                            let now = clock.at(&response);
                            // The view keeps the last flows for Enter; a
                            // stream that may resume needs them too.
                            if consumed.resumes() {
                                consumed.give(response.clone());
                            }
                            state.record(response, now);
                        }
                        Some(Err(error)) if error.is_notice() => warnings.push(error.to_string()),
                        Some(Err(error)) if error.is_recoverable() => warnings.push(error.to_string()),
                        Some(Err(error)) => {
                            drop(screen);
                            return Err(error.into());
                        }
                    }
                    match observe::poll_once(&mut stream).await {
                        Some(next) => item = next,
                        None => break,
                    }
                }
            }
        }
    };
    drop(screen);
    if !command.args.other.silent_errors {
        for warning in warnings.iter().take(10) {
            eprintln!("Warning: {warning}");
        }
    }
    Ok(outcome)
}
