//! `hubl top`: the groups of the aggregation engine, live, full screen.
//!
//! As in tokio-console, the state (`state`: groups, sort, selection, what
//! keys changed) is kept apart from the view (`view`: drawing a frame from
//! the state), so that frames can be tested on ratatui's `TestBackend`
//! without a terminal. `cmd::top` joins them to the stream and the keys.

mod state;
mod view;

pub use state::{Action, Header, Input, Row, State, describe_filters};
pub use view::render;

#[cfg(test)]
mod tests {
    use ratatui::{Terminal, backend::TestBackend};

    use super::*;
    use crate::{
        aggregate::{Key, SortBy, Summary, SummaryFormat},
        printer::{Format, PrintOptions, TimeFormat},
        serve::DEMO_CAPTURE,
        source,
    };

    fn state() -> State {
        let key = Key::parse(&["source,destination,port,verdict".to_owned()]).unwrap();
        let summary = Summary {
            format: SummaryFormat::Table,
            time_format: TimeFormat::StampMilli,
            sort: SortBy::Rate,
        };
        let options = PrintOptions {
            format: Format::Compact,
            time_format: TimeFormat::StampMilli,
            node_name: false,
            policy_names: false,
            color: false,
            ip_translation: true,
            debug: false,
        };
        let header = Header {
            source: "demo".to_owned(),
            filters: "none".to_owned(),
        };
        let mut state = State::new(key, summary, options, 100, 10_000, header);
        for (index, line) in DEMO_CAPTURE.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let (response, _) = source::decode_line(line).unwrap();
            state.record(response, index as u64 * 10);
        }
        state.refresh(7_620);
        state
    }

    fn screen(state: &State) -> String {
        let mut terminal = Terminal::new(TestBackend::new(240, 40)).unwrap();
        terminal.draw(|frame| render(frame, state)).unwrap();
        let buffer = terminal.backend().buffer();
        let width = buffer.area.width as usize;
        buffer
            .content
            .chunks(width)
            .map(|row| {
                let line: String = row.iter().map(|cell| cell.symbol()).collect();
                line.trim_end().to_owned()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn press(state: &mut State, keys: &str) -> Action {
        let mut action = Action::Continue;
        for key in keys.chars() {
            let input = match key {
                '\n' => Input::Enter,
                '^' => Input::Up,
                'v' => Input::Down,
                c => Input::Char(c),
            };
            action = state.handle(input, 7_620);
        }
        action
    }

    #[test]
    fn shows_the_groups_sorted_by_rate() {
        let state = state();
        let text = screen(&state);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("hubl top  demo"), "{text}");
        // Every flow was counted within the rate window: 762 in 10 s.
        assert!(
            lines[0].contains("76.2 flows/s  762 flows  9 groups"),
            "{text}"
        );
        assert!(
            lines[1].contains("sort: rate  level: pod  filters: none"),
            "{text}"
        );
        assert!(lines[3].starts_with("  SOURCE"), "{text}");
        // The selected row is the fastest group.
        assert!(
            lines[4]
                .starts_with("> cilium-test/client-645b68dcf7-s5mdb   cilium-test/echo-other-node"),
            "{text}"
        );
        assert!(lines[4].contains(" 154    15.40 "), "{text}");
        assert!(text.contains("Policy denied"), "{text}");
        assert_eq!(state.rows.len(), 9);
    }

    #[test]
    fn d_shows_only_drops_and_s_changes_the_sort() {
        let mut state = state();
        press(&mut state, "d");
        let text = screen(&state);
        assert!(text.contains("DROPS ONLY"), "{text}");
        assert_eq!(state.rows.len(), 1);
        assert!(state.rows.iter().all(|row| row.dropped > 0));
        let dropped_row = text.lines().nth(4).unwrap();
        assert!(
            dropped_row.contains("DROPPED") && dropped_row.contains("Policy denied"),
            "{text}"
        );
        // The drop is red.
        let mut terminal = Terminal::new(TestBackend::new(240, 40)).unwrap();
        terminal.draw(|frame| render(frame, &state)).unwrap();
        let cell = &terminal.backend().buffer().content[4 * 240 + 4];
        assert_eq!(cell.fg, ratatui::style::Color::Red);
        press(&mut state, "d");
        assert_eq!(state.rows.len(), 9);
        press(&mut state, "s");
        assert!(screen(&state).contains("sort: dropped"));
        let text = screen(&state);
        assert!(text.lines().nth(4).unwrap().contains("DROPPED"), "{text}");
        press(&mut state, "sssss");
        assert!(screen(&state).contains("sort: flows"));
        press(&mut state, "ss");
        assert!(screen(&state).contains("sort: dropped"));
    }

    #[test]
    fn g_groups_at_the_next_level() {
        let mut state = state();
        press(&mut state, "g");
        let text = screen(&state);
        assert!(text.contains("level: workload"), "{text}");
        assert!(text.contains("cilium-test/client2 "), "{text}");
        assert!(text.contains("kube-apiserver"), "{text}");
        assert!(!text.contains("client-645b68dcf7-s5mdb"), "{text}");
        press(&mut state, "g");
        assert!(screen(&state).contains("level: namespace"));
        press(&mut state, "ggg");
        assert!(screen(&state).contains("level: pod"));
    }

    #[test]
    fn enter_shows_the_last_flows_of_the_group_in_compact_format() {
        let mut state = state();
        press(&mut state, "v\n");
        let text = screen(&state);
        let selected = &state.rows[state.selected];
        let source = &selected.cells[0];
        assert!(text.contains(&format!(" last flows of {source}")), "{text}");
        let flows: Vec<&str> = text.lines().skip(21).filter(|l| l.contains(": ")).collect();
        assert!(!flows.is_empty(), "{text}");
        for line in flows {
            // `TIME: SRC -> DST ...` as compact prints it.
            assert!(line.starts_with("Nov 14 22:1"), "{line}");
            assert!(line.contains(source.as_str()), "{line}");
            assert!(line.contains(" -> ") || line.contains(" <- "), "{line}");
        }
        press(&mut state, "\n");
        assert!(!screen(&state).contains("last flows of"));
    }

    #[test]
    fn p_pauses_the_table_and_q_quits() {
        let mut state = state();
        press(&mut state, "p");
        assert!(screen(&state).contains("PAUSED"));
        let before = state.rows.clone();
        let (response, _) =
            source::decode_line(DEMO_CAPTURE.split(|&b| b == b'\n').next().unwrap()).unwrap();
        state.record(response, 7_620);
        state.refresh(7_620);
        assert_eq!(state.rows, before, "paused rows do not move");
        press(&mut state, "p");
        assert_ne!(state.rows, before);
        assert_eq!(press(&mut state, "x"), Action::Continue);
        assert_eq!(press(&mut state, "q"), Action::Quit);
        assert_eq!(state.handle(Input::Interrupt, 0), Action::Quit);
    }
}
