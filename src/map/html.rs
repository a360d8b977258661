//! The map as one self-contained HTML page: the SVG inline, and each
//! link's flow table shown when the pointer is over the link or its label.
//! No script, style or font is fetched from anywhere.

use std::fmt::Write as _;

use super::{Link, Snapshot, render::thousands};

const STYLE: &str = "body{font-family:Helvetica,Arial,sans-serif;margin:1.5em;color:#1a202c}\
h1{font-size:1.2em}\
.link path{cursor:pointer}\
.link:hover path,.link.on path{stroke-width:4}\
#tip{position:fixed;display:none;background:#fff;border:1px solid #a0aec0;border-radius:6px;\
padding:.5em;box-shadow:0 2px 8px rgba(0,0,0,.2);font-size:13px;pointer-events:none}\
#tip table,.flows table{border-collapse:collapse}\
#tip th,#tip td{padding:2px 8px;text-align:left;border-bottom:1px solid #edf2f7}\
.flows{display:none}\
.dropped{color:#c53030}";

/// Shows the table of the link under the pointer, next to it.
const SCRIPT: &str = "const tip=document.getElementById('tip');\
function linkOf(el){const g=el.closest('[data-link]');if(g)return g.dataset.link;\
const tp=el.closest('textPath');if(!tp)return null;\
const path=document.getElementById((tp.getAttribute('href')||'').slice(1));\
const owner=path&&path.closest('[data-link]');return owner?owner.dataset.link:null;}\
document.addEventListener('mouseover',e=>{const n=linkOf(e.target);if(n===null){tip.style.display='none';return;}\
tip.innerHTML=document.getElementById('link-'+n).innerHTML;tip.style.display='block';});\
document.addEventListener('mousemove',e=>{tip.style.left=(e.clientX+14)+'px';tip.style.top=(e.clientY+14)+'px';});";

impl Snapshot {
    pub fn html(&self) -> String {
        let mut out = String::from(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>hubl map</title>\n<style>",
        );
        out.push_str(STYLE);
        out.push_str("</style>\n</head>\n<body>\n");
        let _ = writeln!(
            out,
            "<h1>hubl map: {} cards, {} links</h1>",
            self.cards.len(),
            self.links.len()
        );
        let svg = self.svg();
        // The SVG's XML declaration has no place inside HTML.
        let svg = match svg.find("<svg") {
            Some(start) => &svg[start..],
            None => &svg,
        };
        out.push_str("<div id=\"map\">\n");
        out.push_str(svg);
        out.push_str("\n</div>\n<div id=\"tip\"></div>\n");
        for (index, link) in self.links.iter().enumerate() {
            let _ = writeln!(
                out,
                "<div class=\"flows\" id=\"link-{index}\">{}</div>",
                self.flow_table(link)
            );
        }
        out.push_str("<script>");
        out.push_str(SCRIPT);
        out.push_str("</script>\n</body>\n</html>\n");
        out
    }

    /// What is known of a link's flows, as a table.
    fn flow_table(&self, link: &Link) -> String {
        let name = |id: &str| {
            self.cards
                .iter()
                .find(|card| card.id == id)
                .map_or(id.to_owned(), |card| match card.namespace.is_empty() {
                    true => card.name.clone(),
                    false => format!("{}/{}", card.namespace, card.name),
                })
        };
        let mut rows = vec![
            ("Source", name(&link.source)),
            ("Destination", name(&link.destination)),
            (
                "Port",
                match link.port {
                    0 => link.protocol.clone(),
                    port => format!("{} {port}", link.protocol),
                },
            ),
            ("Verdicts", link.verdicts.join(", ")),
            ("Flows", thousands(link.flows)),
            ("Forwarded", thousands(link.forwarded)),
            ("Dropped", thousands(link.dropped)),
        ];
        if let Some(latency) = &link.latency {
            rows.push((
                "HTTP latency min/avg/max",
                format!(
                    "{}/{}/{}",
                    crate::duration::format_nanos(latency.min),
                    crate::duration::format_nanos(latency.avg),
                    crate::duration::format_nanos(latency.max)
                ),
            ));
        }
        let mut table = String::from("<table>");
        for (heading, value) in rows {
            let class = match heading == "Dropped" && link.dropped > 0 {
                true => " class=\"dropped\"",
                false => "",
            };
            let _ = write!(
                table,
                "<tr><th>{heading}</th><td{class}>{}</td></tr>",
                escape(&value)
            );
        }
        table.push_str("</table>");
        table
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
