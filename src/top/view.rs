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
            state.rate,
            state.flows,
            state.rows.len()
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

fn render_table(frame: &mut Frame, area: Rect, state: &State) {
    let mut widths: Vec<usize> = state.headings.iter().map(|h| h.chars().count()).collect();
    for row in &state.rows {
        for (width, cell) in widths.iter_mut().zip(&row.cells) {
            *width = (*width).max(cell.chars().count().min(MAX_COLUMN));
        }
    }
    let header = Row::new(state.headings.iter().map(|h| Cell::from(*h)))
        .style(Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED));
    let rows = state.rows.iter().map(|row| {
        let style = match row.dropped {
            0 => Style::default(),
            _ => Style::default().fg(Color::Red),
        };
        Row::new(row.cells.iter().map(|cell| Cell::from(cell.as_str()))).style(style)
    });
    let constraints: Vec<Constraint> = widths
        .iter()
        .map(|&w| Constraint::Length(w as u16))
        .collect();
    let table = Table::new(rows, constraints)
        .header(header)
        .column_spacing(2)
        .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ");
    let mut selection =
        TableState::default().with_selected((!state.rows.is_empty()).then_some(state.selected));
    frame.render_stateful_widget(table, area, &mut selection);
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
