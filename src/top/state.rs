//! What `hubl top` knows: the groups, the view's settings, and the last
//! flows seen. Keys change the state; the view only reads it.

use std::collections::VecDeque;

use crate::{
    aggregate::{Aggregator, GroupRef, Key, Millis, SortBy, Summary},
    printer::{Format, PrintOptions, Printer},
    proto::observer::{GetFlowsResponse, get_flows_response::ResponseTypes},
    source,
};

/// Flows kept for `Enter` and for regrouping.
const RECENT: usize = 2000;

/// Flows shown for the selected group.
const DETAIL_FLOWS: usize = 50;

/// Rows rendered at most: more than any screen shows, and with many
/// thousands of groups, formatting every one each second would cost more
/// than counting the flows.
const MAX_ROWS: usize = 500;

/// What the header says of the stream.
#[derive(Debug, Clone, Default)]
pub struct Header {
    /// Where flows come from: the server, the demo, a capture.
    pub source: String,
    /// The filter flags in force, as typed.
    pub filters: String,
}

/// A key press, as far as `hubl top` cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Char(char),
    Up,
    Down,
    Enter,
    Escape,
    Interrupt,
}

/// What the caller should do after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Continue,
    Quit,
}

/// One row of the table as last refreshed.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub group: GroupRef,
    pub cells: Vec<String>,
    pub dropped: u64,
}

pub struct State {
    aggregator: Aggregator,
    summary: Summary,
    options: PrintOptions,
    max_groups: usize,
    window_ms: u64,
    pub header: Header,
    pub drops_only: bool,
    pub paused: bool,
    /// The selected row.
    pub selected: usize,
    /// Whether the last flows of the selected group are shown.
    pub detail: bool,
    /// The table as of the last refresh.
    pub rows: Vec<Row>,
    pub headings: Vec<&'static str>,
    /// Flows per second of the whole stream, flows and groups, at the
    /// refresh.
    pub rate: f64,
    pub flows: u64,
    pub groups: usize,
    pub evicted: (u64, u64),
    /// Whether the stream has ended (a capture read to its end).
    pub ended: bool,
    /// With the time each was counted at.
    recent: VecDeque<(GroupRef, Millis, GetFlowsResponse)>,
}

impl State {
    /// A state grouping by `key`; `options` render the detail flows.
    pub fn new(
        key: Key,
        summary: Summary,
        options: PrintOptions,
        max_groups: usize,
        window_ms: u64,
        header: Header,
    ) -> Self {
        let aggregator = Aggregator::new(key, max_groups, window_ms);
        let headings = Summary::headings(&aggregator);
        Self {
            aggregator,
            summary,
            options: PrintOptions {
                format: Format::Compact,
                color: false,
                ..options
            },
            max_groups,
            window_ms,
            header,
            drops_only: false,
            paused: false,
            selected: 0,
            detail: false,
            rows: Vec::new(),
            headings,
            rate: 0.0,
            flows: 0,
            groups: 0,
            evicted: (0, 0),
            ended: false,
            recent: VecDeque::with_capacity(RECENT),
        }
    }

    pub fn aggregator(&self) -> &Aggregator {
        &self.aggregator
    }

    pub fn sort(&self) -> SortBy {
        self.summary.sort
    }

    /// Counts a response's flow, seen at `now`.
    pub fn record(&mut self, response: GetFlowsResponse, now: Millis) {
        let Some(ResponseTypes::Flow(flow)) = &response.response_types else {
            source::recycle(response);
            return;
        };
        let group = self.aggregator.record(flow, now);
        if self.recent.len() == RECENT
            && let Some((_, _, oldest)) = self.recent.pop_front()
        {
            source::recycle(oldest);
        }
        self.recent.push_back((group, now, response));
    }

    /// Rebuilds the table from the groups, unless paused.
    pub fn refresh(&mut self, now: Millis) {
        if self.paused {
            return;
        }
        let selected = self.rows.get(self.selected).map(|row| row.group);
        let aggregator = &self.aggregator;
        self.rows = aggregator
            .sorted(self.summary.sort, now)
            .into_iter()
            .filter(|group| !self.drops_only || group.stats.dropped > 0)
            .take(MAX_ROWS)
            .filter_map(|group| {
                Some(Row {
                    group: aggregator.find(group)?,
                    cells: self.summary.cells(aggregator, group, now),
                    dropped: group.stats.dropped,
                })
            })
            .collect();
        self.headings = Summary::headings(aggregator);
        self.rate = aggregator.rate(aggregator.total(), now);
        self.flows = aggregator.total().flows;
        self.groups = aggregator.len();
        self.evicted = aggregator.evicted();
        // The selection follows its group as rows move.
        self.selected = selected
            .and_then(|group| self.rows.iter().position(|row| row.group == group))
            .unwrap_or(self.selected)
            .min(self.rows.len().saturating_sub(1));
    }

    /// Applies a key press; the view is refreshed at `now` where it
    /// changes what is shown.
    pub fn handle(&mut self, input: Input, now: Millis) -> Action {
        match input {
            Input::Char('q') | Input::Interrupt => return Action::Quit,
            Input::Escape if self.detail => self.detail = false,
            Input::Escape => return Action::Quit,
            Input::Char('s') => {
                self.summary.sort = self.summary.sort.next();
                self.force_refresh(now);
            }
            Input::Char('g') => {
                self.regroup();
                self.force_refresh(now);
            }
            Input::Char('d') => {
                self.drops_only = !self.drops_only;
                self.selected = 0;
                self.force_refresh(now);
            }
            Input::Char('p') => {
                self.paused = !self.paused;
                self.refresh(now);
            }
            Input::Up => self.selected = self.selected.saturating_sub(1),
            Input::Down => {
                self.selected = (self.selected + 1).min(self.rows.len().saturating_sub(1))
            }
            Input::Enter => self.detail = !self.detail && !self.rows.is_empty(),
            Input::Char(_) => {}
        }
        Action::Continue
    }

    fn force_refresh(&mut self, now: Millis) {
        let paused = std::mem::replace(&mut self.paused, false);
        self.refresh(now);
        self.paused = paused;
    }

    /// Groups anew at the next level, from the flows kept: counts start
    /// over from those.
    fn regroup(&mut self) {
        let key = self.aggregator.key();
        let Some(level) = key.level() else { return };
        let key = key.at_level(level.next());
        let mut aggregator = Aggregator::new(key, self.max_groups, self.window_ms);
        for (group, at, response) in &mut self.recent {
            if let Some(ResponseTypes::Flow(flow)) = &response.response_types {
                *group = aggregator.record(flow, *at);
            }
        }
        self.aggregator = aggregator;
        self.rows.clear();
        self.selected = 0;
        self.detail = false;
    }

    /// The last flows of the selected group in compact format, newest
    /// last.
    pub fn detail_lines(&self) -> Vec<String> {
        let Some(row) = self.rows.get(self.selected) else {
            return Vec::new();
        };
        let mut flows: Vec<&GetFlowsResponse> = self
            .recent
            .iter()
            .rev()
            .filter(|(group, _, _)| *group == row.group)
            .map(|(_, _, response)| response)
            .take(DETAIL_FLOWS)
            .collect();
        flows.reverse();
        let mut out = Vec::new();
        let mut printer = Printer::new(self.options, &mut out, std::io::sink());
        for response in flows {
            // Writing into memory cannot fail.
            let _ = printer.write_response(response);
        }
        let _ = printer.finish();
        String::from_utf8_lossy(&out)
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The level sides are named at.
    pub fn level_name(&self) -> &'static str {
        self.aggregator
            .key()
            .level()
            .map_or("-", |level| level.name())
    }
}

/// Describes the filter flags for the header.
pub fn describe_filters(filters: &[crate::cli::FilterFlag]) -> String {
    let text: Vec<String> = filters
        .iter()
        .map(|flag| match flag.name {
            "not" => "--not".to_owned(),
            name => format!("--{name} {}", flag.value),
        })
        .collect();
    match text.is_empty() {
        true => "none".to_owned(),
        false => text.join(" "),
    }
}
