//! Hostile text: any text through the neutralising functions of `report::safe`, and as the
//! message, help, label, file name and file text of a located diagnostic drawn by the human
//! renderer, never comes out with a raw control character (newline and tab aside, where a
//! format keeps them) or live markup; a snippet's offsets map back to the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use snapaudit::diagnostic::{Kind, Problem, SourceFile};
use snapaudit::report::human::{self, Style};
use snapaudit::report::safe::{self, is_control, Snippet};

/// Whether every `c` in `text` follows an odd number of backslashes (is escaped).
fn escaped(text: &str, c: char) -> bool {
    let mut backslashes = 0;
    for d in text.chars() {
        if d == c && backslashes % 2 == 0 {
            return false;
        }
        backslashes = if d == '\\' { backslashes + 1 } else { 0 };
    }
    true
}

fn no_control(text: &str) -> bool {
    !text.chars().any(is_control)
}

/// Every ESC in `text` starts a colour code (SGR: `ESC [ digits ; … m`).
fn only_colours(text: &str) -> bool {
    text.match_indices('\u{1b}').all(|(i, _)| {
        let rest = &text[i + 1..];
        rest.strip_prefix('[').is_some_and(|r| {
            r.find(|c: char| !c.is_ascii_digit() && c != ';')
                .is_some_and(|end| r[end..].starts_with('m'))
        })
    })
}

fn check_markdown_code(text: &str, in_table: bool) {
    let span = safe::markdown_code(text, in_table);
    let fence = span.chars().take_while(|c| *c == '`').count();
    assert!(fence > 0 && span.len() >= 2 * fence, "{span:?}");
    let inner = &span[fence..span.len() - fence];
    assert!(span.ends_with(&"`".repeat(fence)) && !inner.ends_with('`') && !inner.starts_with('`'));
    // No run of `fence` backticks inside closes the span early.
    let longest = inner.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    assert!(longest < fence, "{span:?}");
    assert!(
        no_control(&span) && !span.contains(['\n', '\r']),
        "{span:?}"
    );
    if in_table {
        assert!(escaped(inner, '|'), "{span:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let offset = usize::from(u16::from_le_bytes([data[0], data[1]]));
    let len = usize::from(u16::from_le_bytes([data[2], data[3]]));
    let flags = data[4];
    let text = String::from_utf8_lossy(&data[5..]).into_owned();

    // Terminal text: no control character; newlines and tabs kept.
    let shown = safe::terminal(&text);
    assert!(no_control(&shown), "{shown:?}");
    assert_eq!(shown.matches('\n').count(), text.matches('\n').count());

    // CSV: no formula, no control character.
    let cell = safe::csv_cell(&text);
    assert!(
        !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
        "{cell:?}"
    );
    assert!(no_control(&cell), "{cell:?}");

    // Markdown free text: one line, no tag or entity of the input's, no link brackets or
    // cell break that is not escaped.
    let md = safe::markdown_text(&text);
    assert!(
        no_control(&md) && !md.contains(['\n', '\r', '<', '>']),
        "{md:?}"
    );
    assert!(
        escaped(&md, '[') && escaped(&md, ']') && escaped(&md, '|'),
        "{md:?}"
    );
    assert!(md.match_indices('&').all(|(i, _)| {
        ["&amp;", "&lt;", "&gt;"]
            .iter()
            .any(|e| md[i..].starts_with(e))
    }));
    check_markdown_code(&text, true);
    check_markdown_code(&text, false);

    // XML: no control character, no markup character, no noncharacter.
    let xml = safe::xml(&text);
    assert!(no_control(&xml) && !xml.contains(['<', '>', '"', '\'', '\u{fffe}', '\u{ffff}']));

    // A snippet keeps the lines, holds no control character but CRLF line ends, and maps
    // every character's offset there and back.
    if let Some(s) = Snippet::of(&text) {
        assert!(no_control(&s.text.replace("\r\n", "\n")), "{:?}", s.text);
        assert_eq!(s.text.matches('\n').count(), text.matches('\n').count());
        for (i, _) in text.char_indices().take(512) {
            let at = s.shown_offset(i);
            assert!(s.text.is_char_boundary(at));
            assert_eq!(s.original_offset(at), i);
        }
        assert_eq!(s.shown_offset(text.len()), s.text.len());
    }

    // The human renderer: the text as a file (sometimes one long line), its name, and the
    // problem's message, help and label; drawn without colour, then with.
    let file = if flags & 1 == 1 {
        text.repeat(16)
    } else {
        text.clone()
    };
    let name: String = text.chars().take(40).collect();
    let source = SourceFile::new(name, file);
    let problem = Problem::new(Kind::SnapshotMalformedJson, text.clone())
        .with_help(text.clone())
        .at(source, offset, len, text.clone());
    for color in [false, true] {
        let handler = human::handler(Style { color, width: 80 });
        let out = human::render(&handler, &problem);
        assert!(no_control(&out.replace('\u{1b}', "")), "{out:?}");
        if color {
            assert!(only_colours(&out), "{out:?}");
        } else {
            assert!(!out.contains('\u{1b}'), "{out:?}");
        }
    }
});
