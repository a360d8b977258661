//! The map as SVG, laid out by hubl itself with layout-rs (no Graphviz
//! at run time): a card per box, titled by name with its namespace and
//! kinds under it, links labelled as in DOT, drops red and dashed.

use std::collections::HashMap;

use layout::{
    backends::svg::SVGWriter,
    core::{
        base::Orientation,
        color::Color,
        geometry::{get_size_for_str, pad_shape_scalar},
        style::{LineStyleKind, StyleAttr},
    },
    std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind},
    topo::layout::VisualGraph,
};

use super::{Snapshot, render::link_label};

const FONT_SIZE: usize = 14;

impl Snapshot {
    /// The picture; each link's path is in a `<g class="link"
    /// data-link="N">`, N its place in `links`, for the HTML page.
    pub fn svg(&self) -> String {
        let mut graph = VisualGraph::new(Orientation::LeftToRight);
        let mut nodes = HashMap::with_capacity(self.cards.len());
        for card in &self.cards {
            let mut label = card.name.clone();
            for line in std::iter::once(card.namespace.as_str())
                .chain(card.kinds.iter().copied().filter(|&kind| kind != card.name))
                .filter(|line| !line.is_empty())
            {
                label.push('\n');
                label.push_str(line);
            }
            let size = pad_shape_scalar(get_size_for_str(&label, FONT_SIZE), 16.0);
            let fill = match card.kinds.is_empty() {
                true => "#f5f7fa",
                false => "#e2e8f0",
            };
            let look = StyleAttr::new(
                Color::fast("#8c99a8"),
                2,
                Some(Color::fast(fill)),
                6,
                FONT_SIZE,
            );
            let node = graph.add_node(Element::create(
                ShapeKind::new_box(&label),
                look,
                Orientation::LeftToRight,
                size,
            ));
            nodes.insert(card.id.as_str(), node);
        }
        for (index, link) in self.links.iter().enumerate() {
            let (Some(&from), Some(&to)) = (
                nodes.get(link.source.as_str()),
                nodes.get(link.destination.as_str()),
            ) else {
                continue;
            };
            let dropped = link.dropped > 0;
            let look = StyleAttr::new(
                Color::fast(if dropped { "red" } else { "#4a5568" }),
                2,
                None,
                0,
                11,
            );
            let style = match link.dropped_only() {
                true => LineStyleKind::Dashed,
                false => LineStyleKind::Normal,
            };
            let arrow = Arrow::with_properties(
                LineEndKind::None,
                LineEndKind::Arrow,
                style,
                &link_label(link),
                &look,
                format!("class=\"link\" data-link=\"{index}\""),
                &None,
                &None,
            );
            graph.add_edge(arrow, from, to);
        }
        let mut svg = SVGWriter::new();
        if !self.cards.is_empty() {
            graph.do_it(false, false, false, &mut svg);
        }
        svg.finalize()
    }
}
