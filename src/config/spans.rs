//! Line numbers for config errors: a second, span-keeping parse of the file, walked by the
//! error's path (`roles[1].trust_policy.Statement[0]`) down to the deepest element that exists.

use serde_spanned::Spanned;
use toml::de::{DeTable, DeValue};

/// The file, parsed once with spans.
pub struct SpanIndex<'a> {
    text: &'a str,
    root: Option<Spanned<DeTable<'a>>>,
}

impl<'a> SpanIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            root: DeTable::parse(text).ok(),
        }
    }

    /// The line of the deepest element of `path` present in the file.
    pub fn line_of_path(&self, path: &str) -> Option<usize> {
        let root = self.root.as_ref()?;
        let mut table: Option<&DeTable<'a>> = Some(root.get_ref());
        let mut current: Option<&Spanned<DeValue<'a>>> = None;
        let mut best: Option<usize> = None;
        for segment in segments(path) {
            let next = match segment {
                Segment::Key(k) => table.and_then(|t| {
                    t.iter()
                        .find(|(key, _)| key.get_ref().as_ref() == k)
                        .map(|(key, v)| {
                            best = Some(key.span().start);
                            v
                        })
                }),
                Segment::Index(i) => current
                    .and_then(|v| v.get_ref().as_array())
                    .and_then(|a| a.get(i)),
            };
            let Some(value) = next else { break };
            if matches!(segment, Segment::Index(_)) {
                best = Some(value.span().start);
            }
            table = value.get_ref().as_table();
            current = Some(value);
        }
        best.map(|offset| line_of_offset(self.text, offset))
    }
}

enum Segment<'p> {
    Key(&'p str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            out.push(Segment::Key(name));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            if let Ok(i) = stripped[..end].parse() {
                out.push(Segment::Index(i));
            }
            rest = &stripped[end + 1..];
        }
    }
    out
}

/// 1-based line of a byte offset.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset.min(text.len()))
        .filter(|b| **b == b'\n')
        .count()
        + 1
}
