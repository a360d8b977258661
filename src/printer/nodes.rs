//! `hubble list nodes`, `hubble list namespaces` and `hubble watch peers`.

use std::{
    fmt::Write as _,
    io::{self, Write},
};

use super::{gojson, tabwriter::TabWriter};
use crate::{
    duration,
    proto::{
        observer::{Namespace, Node},
        peer::{ChangeNotification, ChangeNotificationType},
        relay::NodeState,
    },
};

const NOT_AVAILABLE: &str = "N/A";

/// The formats of `hubble list -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    Json,
    Table,
    Wide,
}

/// Writes the nodes sorted by name, as Hubble lists them.
pub fn write_nodes(out: &mut impl Write, nodes: &mut [Node], format: ListFormat) -> io::Result<()> {
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    if format == ListFormat::Json {
        return write_json_list(out, nodes);
    }
    let wide = format == ListFormat::Wide;
    let mut text = String::from("NAME\tSTATUS\tAGE\tFLOWS/S\tCURRENT/MAX-FLOWS");
    if wide {
        text.push_str("\tVERSION\tADDRESS\tTLS");
    }
    text.push('\n');
    for node in nodes.iter() {
        let (age, flows_per_second) = match round_to_second(node.uptime_ns) {
            Some(uptime) => (
                duration::format_nanos(uptime),
                format!("{:.2}", node.seen_flows as f64 / (uptime as f64 / 1e9)),
            ),
            None => (NOT_AVAILABLE.to_owned(), NOT_AVAILABLE.to_owned()),
        };
        let ratio = if node.max_flows > 0 {
            let percent = node.num_flows as f64 / node.max_flows as f64 * 100.0;
            format!("{}/{} ({percent:6.2}%)", node.num_flows, node.max_flows)
        } else {
            NOT_AVAILABLE.to_owned()
        };
        let _ = write!(
            text,
            "{}\t{}\t{age}\t{flows_per_second}\t{ratio}",
            node.name,
            state_title(node.state)
        );
        if wide {
            let version = if node.version.is_empty() {
                NOT_AVAILABLE
            } else {
                &node.version
            };
            let tls = match &node.tls {
                None => NOT_AVAILABLE,
                Some(tls) if tls.enabled => "Enabled",
                Some(_) => "Disabled",
            };
            let _ = write!(text, "\t{version}\t{}\t{tls}", node.address);
        }
        text.push('\n');
    }
    write_table(out, &text)
}

/// Writes the namespaces in the order the server gave them.
pub fn write_namespaces(
    out: &mut impl Write,
    namespaces: &[Namespace],
    format: ListFormat,
) -> io::Result<()> {
    if format == ListFormat::Json {
        return write_json_list(out, namespaces);
    }
    let wide = format == ListFormat::Wide;
    let mut text = String::from(if wide {
        "NAMESPACE\tCLUSTER\n"
    } else {
        "NAMESPACE\n"
    });
    for namespace in namespaces {
        text.push_str(&namespace.namespace);
        if wide && !namespace.cluster.is_empty() {
            text.push('\t');
            text.push_str(&namespace.cluster);
        }
        text.push('\n');
    }
    write_table(out, &text)
}

/// One line of `hubble watch peers`.
pub fn write_peer_change(out: &mut impl Write, change: &ChangeNotification) -> io::Result<()> {
    let kind = ChangeNotificationType::try_from(change.r#type).map_or_else(
        |_| change.r#type.to_string(),
        |t| t.as_str_name().to_owned(),
    );
    let mut line = format!("{kind:<12} {} {}", change.address, change.name);
    if let Some(tls) = &change.tls {
        let _ = write!(line, " (TLS.ServerName: {})", tls.server_name);
    }
    line.push('\n');
    out.write_all(line.as_bytes())
}

/// A list as `json.MarshalIndent` writes a Go slice: `null` when empty.
fn write_json_list<T: serde::Serialize>(out: &mut impl Write, items: &[T]) -> io::Result<()> {
    if items.is_empty() {
        return out.write_all(b"null\n");
    }
    gojson::write_indented(out, &items)
}

fn write_table(out: &mut impl Write, text: &str) -> io::Result<()> {
    let mut table = TabWriter::new();
    table.write(out, text.as_bytes())?;
    table.flush(out)
}

/// `time.Duration(ns).Round(time.Second)` when it is positive: Go's
/// Duration is signed, so counts past its range are negative and shown as
/// not available.
fn round_to_second(nanos: u64) -> Option<u64> {
    let nanos = i64::try_from(nanos).ok()?;
    let second = 1_000_000_000;
    let rest = nanos % second;
    let rounded = if rest + rest < second {
        nanos - rest
    } else {
        nanos.checked_add(second - rest).unwrap_or(i64::MAX)
    };
    u64::try_from(rounded).ok().filter(|&r| r > 0)
}

fn state_title(state: i32) -> &'static str {
    match NodeState::try_from(state) {
        Ok(NodeState::NodeConnected) => "Connected",
        Ok(NodeState::NodeUnavailable) => "Unavailable",
        Ok(NodeState::NodeGone) => "Gone",
        Ok(NodeState::NodeError) => "Error",
        Ok(NodeState::UnknownNodeState) | Err(_) => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptimes_round_to_the_second() {
        assert_eq!(round_to_second(0), None);
        assert_eq!(round_to_second(499_999_999), None);
        assert_eq!(round_to_second(500_000_000), Some(1_000_000_000));
        assert_eq!(round_to_second(61_400_000_000), Some(61_000_000_000));
        assert_eq!(round_to_second(u64::MAX), None);
    }

    #[test]
    fn empty_lists_are_null_in_json() {
        let mut out = Vec::new();
        write_namespaces(&mut out, &[], ListFormat::Json).unwrap();
        assert_eq!(out, b"null\n");
    }
}
