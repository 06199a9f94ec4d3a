//! Neutralising text that comes from input (snapshot files and names, the manifest, rules,
//! configs, waivers) before an output shows it: whoever wrote the input must not be able to
//! drive the reader's terminal (escape sequences, OSC 52 clipboard writes, bidi tricks),
//! start a formula in a spreadsheet or put live markup in a Markdown page. Every renderer
//! calls these functions on every text it did not write itself; JSON and SARIF are escaped
//! by serde and need none of this.
//!
//! A control character is shown as `\u{1b}` (its code point in hex), which is visible and
//! inert in every format; text without one is returned as it is, so that ordinary output
//! does not change.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must never reach an output raw: the C0 controls but newline and tab, DEL,
/// the C1 controls, and the Unicode bidi embedding, override and isolate controls
/// (U+202A–U+202E, U+2066–U+2069), which reorder what a reader sees.
pub fn is_control(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{8}'
            | '\u{b}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// Appends `c` as it is shown in place of itself: `\u{1b}`.
fn push_visible(out: &mut String, c: char) {
    let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
}

/// Text for a terminal or a plain-text log (human output of `check` and `diff`, the
/// diagnostics on standard error): every [control character](is_control) shown as
/// `\u{…}`; newlines and tabs kept. Borrowed when there is nothing to replace.
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_control(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One character a [`Snippet`] replaced.
#[derive(Debug, Clone, Copy)]
struct Replaced {
    /// Where it starts and ends in the original text.
    start: usize,
    end: usize,
    /// How many bytes longer the snippet is than the original after it.
    shift: usize,
}

/// A file's text as a diagnostic quotes it: [`terminal`] text, except that a carriage
/// return right before a newline is kept (a CRLF line end, which miette reads as one).
/// Lines stay where they were (no newline is added or removed); offsets move, and
/// [`Snippet::shown_offset`] and [`Snippet::original_offset`] map them both ways.
#[derive(Debug, Clone)]
pub struct Snippet {
    /// The text with every replaced character written as `\u{…}`.
    pub text: String,
    replaced: Vec<Replaced>,
}

impl Snippet {
    /// The snippet of `text`, or `None` when `text` holds nothing to replace (it can be
    /// shown as it is, at the same offsets).
    pub fn of(text: &str) -> Option<Snippet> {
        let replace = |i: usize, c: char| {
            is_control(c) && !(c == '\r' && text.as_bytes().get(i + 1) == Some(&b'\n'))
        };
        if !text.char_indices().any(|(i, c)| replace(i, c)) {
            return None;
        }
        let mut out = String::with_capacity(text.len() + 16);
        let mut replaced = Vec::new();
        for (i, c) in text.char_indices() {
            if replace(i, c) {
                push_visible(&mut out, c);
                let end = i + c.len_utf8();
                replaced.push(Replaced {
                    start: i,
                    end,
                    shift: out.len() - end,
                });
            } else {
                out.push(c);
            }
        }
        Some(Snippet {
            text: out,
            replaced,
        })
    }

    /// The offset in the snippet of `offset` in the original text. An offset inside a
    /// replaced character maps to the start of its escape.
    pub fn shown_offset(&self, offset: usize) -> usize {
        let i = self.replaced.partition_point(|r| r.end <= offset);
        let before = i.checked_sub(1).map_or(0, |p| self.replaced[p].shift);
        match self.replaced.get(i) {
            Some(r) if r.start < offset => r.start + before,
            _ => offset + before,
        }
    }

    /// The offset in the original text of `shown`, an offset in the snippet. An offset
    /// inside an escape maps to the start of the character it replaced.
    pub fn original_offset(&self, shown: usize) -> usize {
        let i = self.replaced.partition_point(|r| r.end + r.shift <= shown);
        let before = i.checked_sub(1).map_or(0, |p| self.replaced[p].shift);
        match self.replaced.get(i) {
            Some(r) if r.start + before < shown => r.start,
            _ => shown - before,
        }
    }
}

/// A CSV cell: control characters shown as `\u{…}` (newlines and tabs kept: the CSV
/// writer quotes them), and, as OWASP advises against formula injection, a cell that
/// starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a `'` in front, so that
/// a spreadsheet takes it as text.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    let text = terminal(text);
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        text
    }
}

/// Free Markdown text (a table cell, a list item, a heading): control characters shown as
/// `\u{…}`, line breaks folded to spaces (a table row is one line), `&`, `<` and `>` as
/// entities (no HTML, no autolink `<…>`), `[` and `]` escaped (no link, image or footnote),
/// `\` and `|` escaped (no cell break). Backticks are kept: the rules' messages quote names
/// in code spans; whatever a span holds or leaves out, nothing in it is live.
pub fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '[' => out.push_str("\\["),
            ']' => out.push_str("\\]"),
            '\n' | '\r' => out.push(' '),
            c if is_control(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// `text` as one Markdown inline code span, whose content is shown literally (no HTML,
/// link or emphasis inside one). The fence is one backtick longer than the longest run of
/// backticks in `text`, so that none of them closes the span, with a space inside each end
/// when `text` starts or ends with a backtick or a space (CommonMark strips one); an empty
/// text is a span of one space.
/// Control characters are shown as `\u{…}` and line breaks folded to spaces. In a table
/// (`in_table`) `|` is escaped, and `\` doubled so that no pipe follows an even number of
/// backslashes: GFM splits cells before it reads code spans.
pub fn markdown_code(text: &str, in_table: bool) -> String {
    let mut body = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' => body.push(' '),
            '\\' if in_table => body.push_str("\\\\"),
            '|' if in_table => body.push_str("\\|"),
            c if is_control(c) => push_visible(&mut body, c),
            c => body.push(c),
        }
    }
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    if body.is_empty() {
        return "` `".to_owned();
    }
    let fence = "`".repeat(longest + 1);
    let pad = body.starts_with('`')
        || body.ends_with('`')
        || (body.starts_with(' ') && body.ends_with(' ') && body.contains(|c| c != ' '));
    let space = if pad { " " } else { "" };
    format!("{fence}{space}{body}{space}{fence}")
}

/// XML 1.0 text or attribute value (JUnit): control characters shown as `\u{…}` as on a
/// terminal (those XML cannot hold and the rest alike), the noncharacters U+FFFE and
/// U+FFFF too, and `&`, `<`, `>`, `"`, `'` as entities. Newlines and tabs are kept.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\u{fffe}' | '\u{ffff}' => push_visible(&mut out, c),
            c if is_control(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    const HOSTILE: &str = "x\u{1b}]0;PWN\u{7}\u{1b}[2J\u{9b}31m\u{202e}evil\u{2066}\u{7f}\r";

    fn no_control(text: &str) -> bool {
        !text.chars().any(is_control)
    }

    #[test]
    fn controls_are_c0_but_newline_and_tab_del_c1_and_bidi() {
        for c in [
            '\u{0}', '\u{7}', '\u{8}', '\u{b}', '\r', '\u{1b}', '\u{1f}', '\u{7f}',
        ] {
            assert!(is_control(c), "{c:?}");
        }
        for c in [
            '\u{80}', '\u{9b}', '\u{9f}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}',
        ] {
            assert!(is_control(c), "{c:?}");
        }
        for c in [
            '\n', '\t', ' ', 'a', '\u{a0}', '\u{2029}', '\u{202f}', '\u{2065}', 'é',
        ] {
            assert!(!is_control(c), "{c:?}");
        }
    }

    #[test]
    fn terminal_shows_controls_and_keeps_the_rest() {
        assert!(matches!(terminal("plain\ttext\nok"), Cow::Borrowed(_)));
        let shown = terminal(HOSTILE);
        assert_eq!(
            shown,
            "x\\u{1b}]0;PWN\\u{7}\\u{1b}[2J\\u{9b}31m\\u{202e}evil\\u{2066}\\u{7f}\\u{d}"
        );
        assert!(no_control(&shown));
    }

    #[test]
    fn a_snippet_maps_offsets_both_ways() {
        assert!(Snippet::of("{\"a\": 1}\r\n").is_none());
        let text = "ab\u{1b}c\u{9b}d\u{202e}e\r\nf\rg";
        let Some(s) = Snippet::of(text) else {
            panic!("nothing replaced")
        };
        assert_eq!(s.text, "ab\\u{1b}c\\u{9b}d\\u{202e}e\r\nf\\u{d}g");
        assert!(no_control(&s.text.replace("\r\n", "\n")));
        assert_eq!(s.text.lines().count(), text.lines().count());
        // Every character of the text starts where its image starts in the snippet.
        for (i, c) in text.char_indices() {
            let shown = s.shown_offset(i);
            assert!(s.text.is_char_boundary(shown));
            assert_eq!(s.original_offset(shown), i, "{c:?} at {i}");
            if !is_control(c) || c == '\r' && text[i + 1..].starts_with('\n') {
                assert!(s.text[shown..].starts_with(c), "{c:?} at {i}");
            } else {
                assert!(s.text[shown..].starts_with("\\u{"), "{c:?} at {i}");
            }
        }
        assert_eq!(s.shown_offset(text.len()), s.text.len());
        assert_eq!(s.original_offset(s.text.len()), text.len());
        // Inside a replaced character, or inside its escape: its start.
        let c1 = text.find('\u{9b}').expect("the text holds a C1 control");
        assert_eq!(s.shown_offset(c1 + 1), s.shown_offset(c1));
        assert_eq!(s.original_offset(s.shown_offset(c1) + 3), c1);
    }

    #[test]
    fn csv_cells_cannot_start_a_formula() {
        for (text, cell) in [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "\\u{d}=1"),
            ("a=b", "a=b"),
            ("", ""),
            ("x\u{1b}[2J", "x\\u{1b}[2J"),
        ] {
            assert_eq!(csv_cell(text), cell, "{text:?}");
        }
    }

    #[test]
    fn markdown_text_has_no_live_markup() {
        let shown =
            markdown_text("<img src=x onerror=alert(1)> ![t](http://e/x.png) [a](b)|c\nd\\");
        assert_eq!(
            shown,
            "&lt;img src=x onerror=alert(1)&gt; !\\[t\\](http://e/x.png) \\[a\\](b)\\|c d\\\\"
        );
        assert_eq!(markdown_text("&lt;"), "&amp;lt;");
        assert!(no_control(&markdown_text(HOSTILE)));
        assert_eq!(
            markdown_text("trail `eu-audit` is not logging"),
            "trail `eu-audit` is not logging"
        );
    }

    #[test]
    fn markdown_code_spans_hold_their_text() {
        assert_eq!(markdown_code("iam/x.json:2:18", true), "`iam/x.json:2:18`");
        assert_eq!(markdown_code("<root_account>", true), "`<root_account>`");
        assert_eq!(markdown_code("a`b", false), "``a`b``");
        assert_eq!(markdown_code("`a``", false), "``` `a`` ```");
        assert_eq!(markdown_code(" a ", false), "`  a  `");
        assert_eq!(markdown_code("", false), "` `");
        assert_eq!(markdown_code("a|b\\", true), "`a\\|b\\\\`");
        assert_eq!(markdown_code("a|b\\", false), "`a|b\\`");
        assert_eq!(markdown_code("a\nb\u{1b}", false), "`a b\\u{1b}`");
    }

    #[test]
    fn xml_escapes_specials_and_shows_controls() {
        assert_eq!(
            xml("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;"
        );
        assert_eq!(
            xml("a\u{0}b\u{1b}c\u{85}\u{fffe}\n\t"),
            "a\\u{0}b\\u{1b}c\\u{85}\\u{fffe}\n\t"
        );
    }
}
