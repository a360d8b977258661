//! The map as text: Graphviz DOT, Mermaid and JSON; SVG and HTML are
//! in `svg` and `html`.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    io::{self, Write},
};

use super::{Card, Grouping, Link, Snapshot};

/// `hubl map -o ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Dot,
    Mermaid,
    Svg,
    Html,
}

impl Snapshot {
    pub fn write(&self, out: &mut impl Write, format: Format) -> io::Result<()> {
        match format {
            Format::Json => {
                serde_json::to_writer_pretty(&mut *out, self)?;
                out.write_all(b"\n")
            }
            Format::Dot => out.write_all(self.dot().as_bytes()),
            Format::Mermaid => out.write_all(self.mermaid().as_bytes()),
            Format::Svg => out.write_all(self.svg().as_bytes()),
            Format::Html => out.write_all(self.html().as_bytes()),
        }
    }

    /// Cards by namespace, those outside any namespace under "".
    fn by_namespace(&self) -> BTreeMap<&str, Vec<&Card>> {
        let mut namespaces: BTreeMap<&str, Vec<&Card>> = BTreeMap::new();
        for card in &self.cards {
            namespaces.entry(&card.namespace).or_default().push(card);
        }
        namespaces
    }

    /// Graphviz: a cluster per namespace, drops red and dashed.
    pub fn dot(&self) -> String {
        let mut out = String::new();
        out.push_str("digraph \"hubl map\" {\n");
        out.push_str("  graph [rankdir=LR, fontname=\"Helvetica\", nodesep=0.4, ranksep=1.2];\n");
        out.push_str(
            "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f5f7fa\", color=\"#8c99a8\", fontname=\"Helvetica\"];\n",
        );
        out.push_str("  edge [fontname=\"Helvetica\", fontsize=10, color=\"#4a5568\"];\n");
        for (index, (namespace, cards)) in self.by_namespace().into_iter().enumerate() {
            let indent = match namespace.is_empty() {
                true => "  ",
                false => {
                    let _ = writeln!(out, "  subgraph cluster_{index} {{");
                    let _ = writeln!(out, "    label={};", dot_quote(namespace));
                    out.push_str("    style=\"rounded,dashed\";\n    color=\"#a0aec0\";\n");
                    "    "
                }
            };
            for card in cards {
                let _ = writeln!(
                    out,
                    "{indent}{} [label={}{}];",
                    dot_quote(&card.id),
                    dot_quote(&card_label(card, "\n")),
                    match card.kinds.is_empty() {
                        true => "",
                        false => ", fillcolor=\"#e2e8f0\"",
                    }
                );
            }
            if !namespace.is_empty() {
                out.push_str("  }\n");
            }
        }
        for link in &self.links {
            let style = match (link.dropped > 0, link.dropped_only()) {
                (_, true) => ", color=\"red\", fontcolor=\"red\", style=\"dashed\"",
                (true, false) => ", color=\"red\", fontcolor=\"red\"",
                _ => "",
            };
            let _ = writeln!(
                out,
                "  {} -> {} [label={}{style}];",
                dot_quote(&link.source),
                dot_quote(&link.destination),
                dot_quote(&link_label(link)),
            );
        }
        out.push_str("}\n");
        out
    }

    /// A Mermaid `flowchart LR`, as GitHub and GitLab render it: a
    /// subgraph per namespace, drops dotted and red.
    pub fn mermaid(&self) -> String {
        let ids: BTreeMap<&str, String> = self
            .cards
            .iter()
            .enumerate()
            .map(|(index, card)| (card.id.as_str(), format!("c{index}")))
            .collect();
        let mut out = String::from("flowchart LR\n");
        for (index, (namespace, cards)) in self.by_namespace().into_iter().enumerate() {
            let indent = match namespace.is_empty() || self.grouping == Grouping::Namespace {
                true => "  ",
                false => {
                    let _ = writeln!(out, "  subgraph ns{index}[{}]", mermaid_quote(namespace));
                    "    "
                }
            };
            for card in cards {
                let _ = writeln!(
                    out,
                    "{indent}{}[{}]",
                    ids[card.id.as_str()],
                    mermaid_quote(&card_label(card, "<br/>"))
                );
            }
            if indent.len() > 2 {
                out.push_str("  end\n");
            }
        }
        let mut red = Vec::new();
        for (index, link) in self.links.iter().enumerate() {
            let arrow = match link.dropped_only() {
                true => "-.->",
                false => "-->",
            };
            let _ = writeln!(
                out,
                "  {} {arrow}|{}| {}",
                ids[link.source.as_str()],
                mermaid_quote(&link_label(link)),
                ids[link.destination.as_str()],
            );
            if link.dropped > 0 {
                red.push(index.to_string());
            }
        }
        if !red.is_empty() {
            let _ = writeln!(out, "  linkStyle {} stroke:red,color:red", red.join(","));
        }
        out
    }
}

/// A card's title, and its special kinds under it.
fn card_label(card: &Card, line_break: &str) -> String {
    let mut label = card.name.clone();
    let kinds: Vec<&str> = card
        .kinds
        .iter()
        .copied()
        .filter(|&kind| kind != card.name)
        .collect();
    if !kinds.is_empty() {
        label.push_str(line_break);
        label.push_str(&kinds.join(", "));
    }
    label
}

/// `TCP 8080 · 1,234 flows`, with the drops when some flows passed.
pub fn link_label(link: &Link) -> String {
    let mut label = link.protocol.clone();
    if label.is_empty() {
        label.push_str("unknown");
    }
    if link.port != 0 {
        let _ = write!(label, " {}", link.port);
    }
    let _ = write!(
        label,
        " · {} flow{}",
        thousands(link.flows),
        if link.flows == 1 { "" } else { "s" }
    );
    if link.dropped > 0 && !link.dropped_only() {
        let _ = write!(label, " · {} dropped", thousands(link.dropped));
    }
    label
}

/// `1234567` as `1,234,567`.
pub fn thousands(number: u64) -> String {
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

/// A DOT string literal (newlines as Graphviz's centred `\n`).
fn dot_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Mermaid quoted label: quotes become the `#quot;` entity, and `<br/>`
/// stays a line break.
fn mermaid_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn quoting() {
        assert_eq!(dot_quote("a\"b\\c\nd"), r#""a\"b\\c\nd""#);
        assert_eq!(mermaid_quote("say \"hi\""), "\"say #quot;hi#quot;\"");
    }
}
