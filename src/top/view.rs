//! How `hubl top` looks: a header, the groups' table, and the selected
//! group's last flows. Drawn from the state alone.

use ratatui::{
    Frame,
    layout::{Constraint, Layout, Rect},
    style::{Color, Modifier, Style},
    text::{Line, Span},
    widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState},
};

use super::state::State;

/// Columns wider than this are cut: one long name must not push every
/// other column off the screen.
const MAX_COLUMN: usize = 48;

pub fn render(frame: &mut Frame, state: &State) {
    let [header, body] =
        Layout::vertical([Constraint::Length(3), Constraint::Min(1)]).areas(frame.area());
    render_header(frame, header, state);
    if state.detail {
        let [table, detail] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
        render_table(frame, table, state);
        render_detail(frame, detail, state);
    } else {
        render_table(frame, body, state);
    }
}

fn render_header(frame: &mut Frame, area: Rect, state: &State) {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut first = vec![
        Span::styled("hubl top", bold),
        Span::raw(format!("  {}", state.header.source)),
        Span::raw(format!(
            "  {:.1} flows/s  {} flows  {} groups",
            state.rate, state.flows, state.groups
        )),
    ];
    if state.evicted.0 > 0 {
        first.push(Span::styled(
            format!("  {} groups evicted", state.evicted.0),
            Style::default().fg(Color::Yellow),
        ));
    }
    if state.ended {
        first.push(Span::raw("  (end of input)"));
    }
    let mut second = vec![Span::raw(format!(
        "sort: {}  level: {}  filters: {}",
        state.sort().name(),
        state.level_name(),
        state.header.filters
    ))];
    if state.drops_only {
        second.push(Span::styled(
            "  DROPS ONLY",
            Style::default().fg(Color::Red),
        ));
    }
    if state.paused {
        second.push(Span::styled("  PAUSED", Style::default().fg(Color::Yellow)));
    }
    let keys = Line::from(
        "s sort  g grouping  d drops only  p pause  ↑↓ select  Enter last flows  q quit",
    )
    .style(Style::default().add_modifier(Modifier::DIM));
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second), keys]),
        area,
    );
}

/// Statistics columns left out, in this order, when the terminal is too
/// narrow for all: the key, the counts and the drop reason stay.
const NARROW_DROPS: [&str; 4] = [
    "FIRST SEEN",
    "HTTP LATENCY MIN/AVG/MAX",
    "LAST SEEN",
    "FORWARDED",
];

/// Key columns are not cut narrower than this.
const MIN_KEY_COLUMN: usize = 12;

const SPACING: usize = 2;
const SELECTION: &str = "> ";

fn render_table(frame: &mut Frame, area: Rect, state: &State) {
    let columns = columns(state, area.width as usize);
    let header = Row::new(
        columns
            .iter()
            .map(|&(index, _)| Cell::from(state.headings[index])),
    )
    .style(Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED));
    let rows = state.rows.iter().map(|row| {
        let style = match row.dropped {
            0 => Style::default(),
            _ => Style::default().fg(Color::Red),
        };
        Row::new(
            columns
                .iter()
                .map(|&(index, _)| Cell::from(row.cells.get(index).map_or("", String::as_str))),
        )
        .style(style)
    });
    let constraints: Vec<Constraint> = columns
        .iter()
        .map(|&(_, width)| Constraint::Length(width as u16))
        .collect();
    let table = Table::new(rows, constraints)
        .header(header)
        .column_spacing(SPACING as u16)
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .highlight_symbol(SELECTION);
    let mut selection =
        TableState::default().with_selected((!state.rows.is_empty()).then_some(state.selected));
    frame.render_stateful_widget(table, area, &mut selection);
}

/// The columns to show in `width` and their widths: every column at the
/// width of its longest cell, less the statistics that fit least, then the
/// key's widest columns cut.
fn columns(state: &State, width: usize) -> Vec<(usize, usize)> {
    let mut columns: Vec<(usize, usize)> = state
        .headings
        .iter()
        .enumerate()
        .map(|(index, heading)| {
            let widest = state
                .rows
                .iter()
                .filter_map(|row| row.cells.get(index))
                .map(|cell| cell.chars().count().min(MAX_COLUMN))
                .max()
                .unwrap_or(0);
            (index, widest.max(heading.chars().count()))
        })
        .collect();
    let total = |columns: &[(usize, usize)]| {
        SELECTION.len() + columns.iter().map(|&(_, w)| w + SPACING).sum::<usize>()
    };
    for name in NARROW_DROPS {
        if total(&columns) <= width {
            break;
        }
        columns.retain(|&(index, _)| state.headings[index] != name);
    }
    let key = state.aggregator().key().fields().len();
    while total(&columns) > width {
        let Some(widest) = columns
            .iter_mut()
            .filter(|(index, w)| *index < key && *w > MIN_KEY_COLUMN)
            .max_by_key(|(_, w)| *w)
        else {
            break;
        };
        widest.1 -= 1;
    }
    columns
}

fn render_detail(frame: &mut Frame, area: Rect, state: &State) {
    let title = state
        .rows
        .get(state.selected)
        .map(|row| {
            let key = state.aggregator().key().fields().len();
            format!(
                " last flows of {} (Esc to close) ",
                row.cells[..key].join(" ")
            )
        })
        .unwrap_or_default();
    let lines = state.detail_lines();
    // The newest flows fit at the bottom.
    let visible = area.height.saturating_sub(2) as usize;
    let skip = lines.len().saturating_sub(visible);
    let text: Vec<Line> = lines.into_iter().skip(skip).map(Line::from).collect();
    frame.render_widget(
        Paragraph::new(text).block(Block::default().borders(Borders::TOP).title(title)),
        area,
    );
}
