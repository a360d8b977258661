//! `--print-raw-filters`: the request's allow and deny lists as YAML, each
//! filter a JSON string, laid out as Hubble's YAML library (yaml v3) writes
//! them.

use std::io::{self, Write};

use super::gojson;
use crate::proto::observer::GetFlowsRequest;

/// Writes the lists, or `{}` when there are none.
pub fn write_raw_filters(out: &mut impl Write, request: &GetFlowsRequest) -> io::Result<()> {
    if request.whitelist.is_empty() && request.blacklist.is_empty() {
        return out.write_all(b"{}\n");
    }
    for (name, filters) in [
        ("allowlist", &request.whitelist),
        ("denylist", &request.blacklist),
    ] {
        if filters.is_empty() {
            continue;
        }
        writeln!(out, "{name}:")?;
        for filter in filters {
            let mut json = Vec::new();
            gojson::write_line(&mut json, filter)?;
            let json = String::from_utf8_lossy(&json);
            // A single-quoted YAML scalar doubles its quotes.
            writeln!(out, "    - '{}'", json.trim_end().replace('\'', "''"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::flow::FlowFilter;

    #[test]
    fn yaml_v3_layout() {
        let request = GetFlowsRequest {
            whitelist: vec![FlowFilter {
                source_pod: vec!["kube-system/".into()],
                ..FlowFilter::default()
            }],
            blacklist: vec![FlowFilter {
                source_label: vec!["k8s:app='x'".into()],
                ..FlowFilter::default()
            }],
            ..GetFlowsRequest::default()
        };
        let mut out = Vec::new();
        write_raw_filters(&mut out, &request).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "allowlist:\n    - '{\"source_pod\":[\"kube-system/\"]}'\ndenylist:\n    - '{\"source_label\":[\"k8s:app=''x''\"]}'\n"
        );
    }

    #[test]
    fn no_filters_is_an_empty_mapping() {
        let mut out = Vec::new();
        write_raw_filters(&mut out, &GetFlowsRequest::default()).unwrap();
        assert_eq!(out, b"{}\n");
    }
}
