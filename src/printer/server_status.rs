//! `hubble status`: the server's ServerStatus in each output format.

use std::{
    fmt::Write as _,
    io::{self, Write},
};

use super::{gojson, style::Style, tabwriter::TabWriter};
use crate::{duration, proto::observer::ServerStatusResponse};

/// The formats of `hubble status -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFormat {
    Compact,
    Dict,
    Json,
    Table,
}

/// Writes `status` as Hubble's printer does.
pub fn write_server_status(
    out: &mut impl Write,
    status: &ServerStatusResponse,
    format: StatusFormat,
) -> io::Result<()> {
    let connected_nodes = status.num_connected_nodes.as_ref().map(|n| n.value);
    let unavailable_nodes = status.num_unavailable_nodes.as_ref().map(|n| n.value);
    let connected = connected_nodes.map_or_else(|| "N/A".to_owned(), |n| n.to_string());
    let unavailable = unavailable_nodes.map_or_else(|| "N/A".to_owned(), |n| n.to_string());
    let mut flows_per_second = if status.flows_rate > 0.0 {
        format!("{:.2}", status.flows_rate)
    } else {
        "N/A".to_owned()
    };
    let mut text = String::new();
    match format {
        StatusFormat::Json => return gojson::write_line(out, status),
        StatusFormat::Table => {
            text.push_str(
                "NUM FLOWS\tMAX FLOWS\tSEEN FLOWS\tFLOWS PER SECOND\tUPTIME\t\
                 NUM CONNECTED NODES\tNUM UNAVAILABLE NODES\tVERSION\n",
            );
            let _ = writeln!(
                text,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                grouped(status.num_flows),
                grouped(status.max_flows),
                grouped(status.seen_flows),
                flows_per_second,
                duration::format_nanos(status.uptime_ns),
                connected,
                unavailable,
                status.version
            );
            let mut escaped = Vec::new();
            Style { color: false }.write_escaped(&mut escaped, &text)?;
            let mut table = TabWriter::new();
            table.write(out, &escaped)?;
            return table.flush(out);
        }
        StatusFormat::Dict => {
            let _ = write!(
                text,
                "          NUM FLOWS: {}\n          MAX FLOWS: {}\n         SEEN FLOWS: {}\n   \
                 FLOWS PER SECOND: {}\n             UPTIME: {}\nNUM CONNECTED NODES: {}\n \
                 NUM UNAVAIL. NODES: {}\n            VERSION: {}\n",
                grouped(status.num_flows),
                grouped(status.max_flows),
                grouped(status.seen_flows),
                flows_per_second,
                duration::format_nanos(status.uptime_ns),
                connected,
                unavailable,
                status.version
            );
        }
        StatusFormat::Compact => {
            let _ = write!(
                text,
                "Current/Max Flows: {}/{}",
                grouped(status.num_flows),
                grouped(status.max_flows)
            );
            if status.max_flows > 0 {
                let ratio = status.num_flows as f64 / status.max_flows as f64 * 100.0;
                let _ = write!(text, " ({ratio:.2}%)");
            }
            text.push('\n');
            // Go's Duration is signed: uptimes past its range count as none.
            let uptime = i64::try_from(status.uptime_ns).unwrap_or(-1);
            if flows_per_second == "N/A" && uptime > 0 {
                flows_per_second =
                    format!("{:.2}", status.seen_flows as f64 / (uptime as f64 / 1e9));
            }
            let _ = writeln!(text, "Flows/s: {flows_per_second}");
            if let Some(connected) = connected_nodes {
                let _ = write!(text, "Connected Nodes: {connected}");
                if let Some(unavailable) = unavailable_nodes {
                    let _ = write!(text, "/{}", u64::from(unavailable) + u64::from(connected));
                }
                text.push('\n');
            }
            if let Some(count) = unavailable_nodes.filter(|&n| n > 0) {
                let _ = writeln!(text, "Unavailable Nodes: {count}");
                if !status.unavailable_nodes.is_empty() {
                    let mut names = status.unavailable_nodes.clone();
                    names.sort();
                    let listed = u32::try_from(names.len()).unwrap_or(u32::MAX);
                    if count > listed {
                        names.push(format!("and {} more...", count - listed));
                    }
                    for name in names {
                        let _ = writeln!(text, "  - {name}");
                    }
                }
            }
        }
    }
    Style { color: false }.write_escaped(out, &text)
}

/// Digits grouped by three with commas (`1,000,000`), as Hubble prints
/// flow counts.
pub fn grouped(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped_by_three() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(8190), "8,190");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    fn compact(status: &ServerStatusResponse) -> String {
        let mut out = Vec::new();
        write_server_status(&mut out, status, StatusFormat::Compact).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn compact_without_optional_fields() {
        let status = ServerStatusResponse::default();
        assert_eq!(compact(&status), "Current/Max Flows: 0/0\nFlows/s: N/A\n");
    }

    #[test]
    fn unavailable_nodes_are_listed_sorted_with_the_rest_counted() {
        let status = ServerStatusResponse {
            num_flows: 10,
            max_flows: 40,
            seen_flows: 100,
            uptime_ns: 50_000_000_000,
            num_connected_nodes: Some(1.into()),
            num_unavailable_nodes: Some(3.into()),
            unavailable_nodes: vec!["b".into(), "a".into()],
            ..Default::default()
        };
        assert_eq!(
            compact(&status),
            "Current/Max Flows: 10/40 (25.00%)\nFlows/s: 2.00\nConnected Nodes: 1/4\n\
             Unavailable Nodes: 3\n  - a\n  - b\n  - and 1 more...\n"
        );
    }
}
