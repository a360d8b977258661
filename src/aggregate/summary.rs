//! A summary of groups in observe's output formats: `-o table` (aligned
//! columns under a header), `-o compact` (a line per group) and `-o json`
//! (an object per group, the same keys on every line, for jq). `hubl top`
//! shows the table's cells.

use std::io::{self, Write};

use super::{Aggregator, Field, Group, Latency, Millis, SortBy, Stats, Tally, Time};
use crate::{
    duration,
    printer::{self, Style, TabWriter, TimeFormat},
};

/// How a summary is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryFormat {
    Table,
    Compact,
    Json,
}

/// What shapes a summary.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub format: SummaryFormat,
    pub time_format: TimeFormat,
    pub sort: SortBy,
}

/// The columns after the key's.
const STAT_HEADINGS: [&str; 7] = [
    "FLOWS",
    "FLOWS/S",
    "FORWARDED",
    "DROPPED",
    "FIRST SEEN",
    "LAST SEEN",
    "HTTP LATENCY MIN/AVG/MAX",
];

/// Shown for a key part a flow had nothing for.
const NONE: &str = "-";

impl Summary {
    /// The column headings: the key's parts, the statistics and, unless
    /// the key has it, the latest drop reason.
    pub fn headings<T: Tally>(aggregator: &Aggregator<T>) -> Vec<&'static str> {
        let key = aggregator.key();
        let mut headings: Vec<&'static str> = key.fields().iter().map(|f| f.heading()).collect();
        headings.extend(STAT_HEADINGS);
        if !key.contains("drop_reason") {
            headings.push("DROP REASON");
        }
        headings
    }

    /// One group's cells, in the order of `headings`.
    pub fn cells<T: Tally>(
        &self,
        aggregator: &Aggregator<T>,
        group: &Group<T>,
        now: Millis,
    ) -> Vec<String> {
        let mut cells: Vec<String> = group
            .parts()
            .map(|part| match part.is_empty() {
                true => NONE.to_owned(),
                false => part.to_owned(),
            })
            .collect();
        let stats = &group.stats;
        cells.push(stats.flows.to_string());
        cells.push(format!("{:.2}", aggregator.rate(stats, now)));
        cells.push(stats.forwarded.to_string());
        cells.push(stats.dropped.to_string());
        cells.push(self.time(stats.first_seen()));
        cells.push(self.time(stats.last_seen()));
        cells.push(latency(&aggregator.latency(stats)));
        if !aggregator.key().contains("drop_reason") {
            cells.push(drop_reason(stats));
        }
        cells
    }

    fn time(&self, time: Option<Time>) -> String {
        let mut text = String::new();
        match time {
            Some(time) => printer::write_time(&mut text, Some(&time.timestamp()), self.time_format),
            None => text.push_str(NONE),
        }
        text
    }

    /// Writes every group, in order.
    pub fn write<T: Tally>(
        &self,
        out: &mut impl Write,
        aggregator: &Aggregator<T>,
        now: Millis,
    ) -> io::Result<()> {
        let groups = aggregator.sorted(self.sort, now);
        match self.format {
            SummaryFormat::Table => self.write_table(out, aggregator, &groups, now),
            SummaryFormat::Compact => {
                let mut line = String::new();
                for group in groups {
                    line.clear();
                    self.compact_line(&mut line, aggregator, group, now);
                    escaped(out, &line)?;
                }
                Ok(())
            }
            SummaryFormat::Json => {
                let mut line = Vec::new();
                for group in groups {
                    line.clear();
                    json_line(&mut line, aggregator, group, now)?;
                    out.write_all(&line)?;
                }
                Ok(())
            }
        }
    }

    fn write_table<T: Tally>(
        &self,
        out: &mut impl Write,
        aggregator: &Aggregator<T>,
        groups: &[&Group<T>],
        now: Millis,
    ) -> io::Result<()> {
        let mut table = TabWriter::new();
        let mut text = Summary::headings(aggregator).join("\t");
        text.push('\n');
        for group in groups {
            for (index, cell) in self.cells(aggregator, group, now).iter().enumerate() {
                if index > 0 {
                    text.push('\t');
                }
                // A tab or newline from the cluster would break the columns.
                text.extend(
                    cell.chars()
                        .map(|c| if c == '\t' || c == '\n' { ' ' } else { c }),
                );
            }
            text.push('\n');
        }
        let mut escaped_text = Vec::with_capacity(text.len());
        Style { color: false }.write_escaped(&mut escaped_text, &text)?;
        table.write(out, &escaped_text)?;
        table.flush(out)
    }

    /// `SRC -> DST PORT ...: N flows (R/s), F forwarded, D dropped, first
    /// T, last T[, HTTP latency MIN/AVG/MAX][, last drop REASON]`.
    fn compact_line<T: Tally>(
        &self,
        out: &mut String,
        aggregator: &Aggregator<T>,
        group: &Group<T>,
        now: Millis,
    ) {
        let fields = aggregator.key().fields();
        for (index, (field, part)) in fields.iter().zip(group.parts()).enumerate() {
            if index > 0 {
                let after_source = matches!(fields[index - 1], Field::Source(_))
                    && matches!(field, Field::Destination(_));
                out.push_str(if after_source { " -> " } else { " " });
            }
            out.push_str(if part.is_empty() { NONE } else { part });
        }
        let stats = &group.stats;
        out.push_str(&format!(
            ": {} flows ({:.2}/s), {} forwarded, {} dropped, first {}, last {}",
            stats.flows,
            aggregator.rate(stats, now),
            stats.forwarded,
            stats.dropped,
            self.time(stats.first_seen()),
            self.time(stats.last_seen()),
        ));
        let http = aggregator.latency(stats);
        if http.count > 0 {
            out.push_str(", HTTP latency ");
            out.push_str(&latency(&http));
        }
        if let Some(code) = stats.last_drop
            && !aggregator.key().contains("drop_reason")
        {
            out.push_str(", last drop ");
            printer::write_drop_reason(out, code);
        }
        out.push('\n');
    }
}

/// `min/avg/max` as Go durations to three or so digits (JSON has the
/// nanoseconds), or `-`.
fn latency(latency: &Latency) -> String {
    let short = |nanos: u64| {
        let unit = match nanos {
            0..1_000 => 1,
            1_000..1_000_000 => 1_000,
            1_000_000..1_000_000_000 => 10_000,
            _ => 10_000_000,
        };
        match nanos.checked_add(unit / 2) {
            Some(rounded) => duration::format_nanos(rounded / unit * unit),
            None => duration::format_nanos(nanos),
        }
    };
    match latency.count {
        0 => NONE.to_owned(),
        _ => format!(
            "{}/{}/{}",
            short(latency.min_ns),
            short(latency.avg_ns()),
            short(latency.max_ns)
        ),
    }
}

fn drop_reason(stats: &Stats) -> String {
    let mut text = String::new();
    match stats.last_drop {
        Some(code) => printer::write_drop_reason(&mut text, code),
        None => text.push_str(NONE),
    }
    text
}

fn escaped(out: &mut impl Write, text: &str) -> io::Result<()> {
    Style { color: false }.write_escaped(out, text)
}

/// One group as a JSON object: the key's parts by name (the port a number,
/// or null), then the statistics; every line has the same keys.
fn json_line<T: Tally>(
    out: &mut Vec<u8>,
    aggregator: &Aggregator<T>,
    group: &Group<T>,
    now: Millis,
) -> io::Result<()> {
    let mut object = serde_json::Map::new();
    for (field, part) in aggregator.key().fields().iter().zip(group.parts()) {
        let value = match field {
            Field::Port => part
                .parse::<u32>()
                .map_or(serde_json::Value::Null, serde_json::Value::from),
            _ => serde_json::Value::from(part),
        };
        object.insert(field.name().to_owned(), value);
    }
    let stats = &group.stats;
    let time = |time: Option<Time>| {
        time.map_or(serde_json::Value::Null, |t| {
            serde_json::to_value(t.timestamp()).unwrap_or(serde_json::Value::Null)
        })
    };
    let latency = aggregator.latency(stats);
    let values = [
        ("flows", serde_json::Value::from(stats.flows)),
        (
            "flows_per_second",
            serde_json::Value::from(aggregator.rate(stats, now)),
        ),
        ("forwarded", serde_json::Value::from(stats.forwarded)),
        ("dropped", serde_json::Value::from(stats.dropped)),
        ("first_seen", time(stats.first_seen())),
        ("last_seen", time(stats.last_seen())),
        (
            "http_latency_ns",
            match latency.count {
                0 => serde_json::Value::Null,
                _ => serde_json::json!({
                    "min": latency.min_ns,
                    "avg": latency.avg_ns(),
                    "max": latency.max_ns,
                    "count": latency.count,
                }),
            },
        ),
        (
            "last_drop_reason",
            match stats.last_drop {
                Some(code) => {
                    let mut text = String::new();
                    printer::write_drop_reason(&mut text, code);
                    serde_json::Value::from(text)
                }
                None => serde_json::Value::Null,
            },
        ),
    ];
    for (name, value) in values {
        object.insert(name.to_owned(), value);
    }
    serde_json::to_writer(&mut *out, &object)?;
    out.push(b'\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_shown_to_a_few_digits() {
        let mut three = Latency::default();
        for nanos in [614_836, 1_469_715, 2_520_907] {
            three.add(nanos);
        }
        assert_eq!(latency(&three), "615µs/1.54ms/2.52ms");
        assert_eq!(latency(&Latency::default()), "-");
        let mut huge = Latency::default();
        huge.add(u64::MAX);
        assert_eq!(
            latency(&huge),
            "18446744073709551615ns/18446744073709551615ns/18446744073709551615ns"
        );
    }
}
