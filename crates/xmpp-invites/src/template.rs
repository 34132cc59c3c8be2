//! Prosody's template language (`util.interpolation`), as landing-page
//! templates such as `https://example.com/invite?{invite.token}` use it.
//!
//! Blocks are balanced `{...}` pairs. `{name}` is replaced by the value,
//! escaped; `{name!}` unescaped; `{a.b}` looks into tables; `{name|filter}`
//! applies filters; `{name?sub}` renders `sub` when the value is false or
//! missing; `{name&sub}` when it is set; `{name~sub}` when it is not;
//! `{list#sub}` and `{map%sub}` render `sub` for each entry with `{idx}` and
//! `{item}`. A block naming a missing value is left as it is, as Lua's
//! `gsub` keeps a match its function returns nothing for.
//!
//! Values are JSON values: `null` is Lua's nil, arrays are sequences
//! (`{idx}` counts from 1), objects are tables, iterated in key order. Two
//! choices where Lua has no useful answer: a table printed as text gives the
//! empty string (Lua prints an address), and a filter leaves booleans and
//! tables alone (Lua raises an error).

use std::num::NonZeroUsize;
use std::ops::Range;

use serde_json::Value;

/// How deeply blocks may nest (`{a&{b&{c}}}` nests 3 deep).
pub const MAX_TEMPLATE_DEPTH: usize = 32;
/// The most text one render may produce.
pub const MAX_RENDERED_LEN: usize = 1 << 20;
/// The most blocks and loop iterations one render may evaluate: nested
/// loops with empty bodies produce no text, yet their work grows with the
/// product of the list lengths.
pub const MAX_TEMPLATE_STEPS: usize = 1 << 20;

/// A filter: text in, text out.
pub type Filter = fn(&str) -> String;

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// Blocks nest deeper than [`MAX_TEMPLATE_DEPTH`].
    #[error("template blocks nest deeper than {MAX_TEMPLATE_DEPTH}")]
    TooDeep,
    /// The output would exceed [`MAX_RENDERED_LEN`] bytes.
    #[error("the rendered template would exceed {MAX_RENDERED_LEN} bytes")]
    TooLarge,
    /// Rendering would take more than [`MAX_TEMPLATE_STEPS`] steps.
    #[error("the template takes more than {MAX_TEMPLATE_STEPS} steps to render")]
    TooComplex,
}

impl TemplateError {
    /// A stable, machine-readable name for this error (kebab-case), the
    /// same in the C and Lua bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooDeep => "template-too-deep",
            Self::TooLarge => "template-too-large",
            Self::TooComplex => "template-too-complex",
        }
    }
}

/// A renderer: an escape function and named filters, like the result of
/// Prosody's `util.interpolation.new("%b{}", escape, filters)`.
#[derive(Clone)]
pub struct Renderer {
    escape: Filter,
    filters: Vec<(String, Filter)>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field(
                "filters",
                &self.filters.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// Prosody's `util.http.urlencode`: every byte but `A-Z a-z 0-9 . ~ _ -`
/// becomes `%xx` in lowercase hex.
///
/// ```
/// assert_eq!(xmpp_invites::url_escape("a b/é"), "a%20b%2f%c3%a9");
/// ```
pub fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    url_escape_into(&mut out, s);
    out
}

/// [`url_escape`] appending to `out`.
pub(crate) fn url_escape_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Runs of bytes kept as they are (a whole token, usually) are copied at
    // once. A run is ASCII, so both of its ends are char boundaries.
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        if !url_unreserved(b) {
            if run < i {
                out.push_str(&s[run..i]);
            }
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
            run = i + 1;
        }
    }
    if run < s.len() {
        out.push_str(&s[run..]);
    }
}

/// The bytes `url_escape` keeps: `A-Z a-z 0-9 . ~ _ -`.
fn url_unreserved(b: u8) -> bool {
    UNRESERVED[usize::from(b)]
}

/// [`url_unreserved`] as a table: one load a byte on the hot path.
static UNRESERVED: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric() || matches!(c, b'.' | b'~' | b'_' | b'-');
        b += 1;
    }
    t
};

/// Prosody's `util.stanza.xml_escape`: `& < > ' "` as entities.
///
/// ```
/// assert_eq!(xmpp_invites::xml_escape("<a href='x'>&</a>"), "&lt;a href=&apos;x&apos;&gt;&amp;&lt;/a&gt;");
/// ```
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The `noscheme` filter: drops a leading `scheme:` (`xmpp:a@b` → `a@b`).
///
/// ```
/// assert_eq!(xmpp_invites::strip_scheme("xmpp:a@b?roster"), "a@b?roster");
/// assert_eq!(xmpp_invites::strip_scheme(":x"), ":x");
/// ```
pub fn strip_scheme(s: &str) -> String {
    match s.find(':') {
        Some(i) if i > 0 => s[i + 1..].to_owned(),
        _ => s.to_owned(),
    }
}

impl Renderer {
    /// A renderer with an escape function and no filters.
    pub fn new(escape: Filter) -> Self {
        Self {
            escape,
            filters: Vec::new(),
        }
    }

    /// The renderer Prosody uses for invite URLs: URL escaping, with the
    /// `urlescape` and `noscheme` filters.
    pub fn url() -> Self {
        Self::new(url_escape)
            .with_filter("urlescape", url_escape)
            .with_filter("noscheme", strip_scheme)
    }

    /// A renderer for HTML: XML escaping, with the `urlescape`, `noscheme`
    /// and `lower` filters.
    pub fn html() -> Self {
        Self::new(xml_escape)
            .with_filter("urlescape", url_escape)
            .with_filter("noscheme", strip_scheme)
            .with_filter("lower", str::to_lowercase)
    }

    /// Adds (or replaces) a filter.
    pub fn with_filter(mut self, name: &str, filter: Filter) -> Self {
        self.filters.retain(|(n, _)| n != name);
        self.filters.push((name.to_owned(), filter));
        self
    }

    /// Renders `template` with `values` (normally a JSON object).
    ///
    /// ```
    /// use serde_json::json;
    /// let r = xmpp_invites::Renderer::url();
    /// let values = json!({"host": "example.com", "invite": {"token": "a/b", "uri": "xmpp:example.com"}});
    /// assert_eq!(
    ///     r.render("https://{host}/i?{invite.token}#{invite.uri|noscheme!}{missing}", &values).unwrap(),
    ///     "https://example.com/i?a%2fb#example.com{missing}"
    /// );
    /// ```
    pub fn render(&self, template: &str, values: &Value) -> Result<String, TemplateError> {
        let mut out = String::with_capacity(template.len());
        let mut steps = MAX_TEMPLATE_STEPS;
        let source = Source {
            text: template,
            braces: Braces::new(template),
        };
        let all = 0..template.len();
        self.render_into(&mut out, &source, all, &Scope::Root(values), 0, &mut steps)?;
        Ok(out)
    }

    /// Renders the part `span` of the template.
    fn render_into(
        &self,
        out: &mut String,
        source: &Source<'_>,
        span: Range<usize>,
        scope: &Scope<'_>,
        depth: usize,
        steps: &mut usize,
    ) -> Result<(), TemplateError> {
        if depth > MAX_TEMPLATE_DEPTH {
            return Err(TemplateError::TooDeep);
        }
        let (text, bytes) = (source.text, source.text.as_bytes());
        let mut i = span.start;
        let mut copied = span.start;
        while i < span.end {
            if bytes[i] != b'{' {
                i += 1;
                continue;
            }
            // Braces found over the whole template hold for a body too, as
            // a body is balanced (see `block`).
            let Some(end) = source.braces.end(i) else {
                i += 1;
                continue;
            };
            debug_assert!(end < span.end, "a block in a body ends inside it");
            out.push_str(&text[copied..i]);
            let before = out.len();
            *steps = steps.checked_sub(1).ok_or(TemplateError::TooComplex)?;
            if !self.block(out, source, i + 1..end, scope, depth, steps)? {
                out.truncate(before);
                out.push_str(&text[i..=end]);
            }
            i = end + 1;
            copied = i;
            if out.len() > MAX_RENDERED_LEN {
                return Err(TemplateError::TooLarge);
            }
        }
        out.push_str(&text[copied..span.end]);
        if out.len() > MAX_RENDERED_LEN {
            return Err(TemplateError::TooLarge);
        }
        Ok(())
    }

    /// Renders the block whose inside is `span` into `out`; false keeps the
    /// block as written.
    fn block(
        &self,
        out: &mut String,
        source: &Source<'_>,
        span: Range<usize>,
        scope: &Scope<'_>,
        depth: usize,
        steps: &mut usize,
    ) -> Result<bool, TemplateError> {
        let block = &source.text[span.clone()];
        let Some((name, mut raw, mut opt, mut rest)) = split_name(block) else {
            return Ok(false);
        };
        let mut value = Cow::from_lookup(scope, name);
        while opt == Some('|') {
            match split_name(rest) {
                Some((filter, r, o, after)) => {
                    if let Some(f) = self
                        .filters
                        .iter()
                        .find(|(n, _)| n == filter)
                        .map(|(_, f)| f)
                    {
                        value = value.filtered(*f);
                    }
                    (raw, opt, rest) = (r, o, after);
                }
                None => {
                    (raw, opt) = (false, None);
                }
            }
        }
        // Looking up the name and filters costs their length: charged one
        // step per 64 bytes, so a loop over a block with a huge name stays
        // within the limit too.
        let head = block.len() - rest.len();
        *steps = steps
            .checked_sub(head / 64)
            .ok_or(TemplateError::TooComplex)?;
        let truthy = value.truthy();
        // The body (rendered after `#`, `%`, `&`, `~` or `?`) is the end of
        // the block, after a name, options and filters without braces: it
        // is as balanced as the block.
        let body = span.end - rest.len()..span.end;
        match opt {
            Some('#' | '%') => {
                let entries: Vec<(Value, &Value)> = match (opt, value.get()) {
                    (Some('#'), Some(Value::Array(items)))
                    | (Some('%'), Some(Value::Array(items))) => items
                        .iter()
                        .enumerate()
                        // Lua's ipairs stops at the first nil.
                        .take_while(|(_, v)| opt == Some('%') || !v.is_null())
                        .filter(|(_, v)| !v.is_null())
                        .map(|(i, v)| (Value::from(i + 1), v))
                        .collect(),
                    (Some('%'), Some(Value::Object(map))) => map
                        .iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| (Value::from(k.as_str()), v))
                        .collect(),
                    _ => Vec::new(),
                };
                for (idx, item) in &entries {
                    let sub = Scope::Loop {
                        idx,
                        item,
                        parent: scope,
                    };
                    *steps = steps.checked_sub(1).ok_or(TemplateError::TooComplex)?;
                    self.render_into(out, source, body.clone(), &sub, depth + 1, steps)?;
                    if out.len() > MAX_RENDERED_LEN {
                        return Err(TemplateError::TooLarge);
                    }
                }
                Ok(true)
            }
            Some('&') => {
                if truthy {
                    self.render_into(out, source, body, scope, depth + 1, steps)?;
                }
                Ok(true)
            }
            Some('~') => {
                if !truthy {
                    self.render_into(out, source, body, scope, depth + 1, steps)?;
                }
                Ok(true)
            }
            Some('?') if !truthy => {
                self.render_into(out, source, body, scope, depth + 1, steps)?;
                Ok(true)
            }
            _ => match value.to_text() {
                Some(text) if raw => {
                    out.push_str(&text);
                    Ok(true)
                }
                Some(text) => {
                    out.push_str(&(self.escape)(&text));
                    Ok(true)
                }
                None => Ok(false),
            },
        }
    }
}

/// A template and the ends of its blocks, found once per render.
struct Source<'t> {
    text: &'t str,
    braces: Braces,
}

/// Where each `{` of a template is balanced (Lua's `%b{}`): at the first `}`
/// after it that closes as many braces as were opened since. Found in one
/// pass, since scanning ahead from every `{` costs the square of the length
/// of a template with many unclosed ones, and a loop would scan its body
/// again on each turn.
pub(crate) struct Braces {
    /// By offset in the template: the offset of the `}` balancing the `{`
    /// there. A `}` is never at offset 0, which keeps an entry to a word.
    ends: Vec<Option<NonZeroUsize>>,
}

impl Braces {
    pub(crate) fn new(template: &str) -> Self {
        let mut ends = vec![None; template.len()];
        // The `{` a `}` balances is the last one still open: any opened
        // after it have been closed already.
        let mut open = Vec::new();
        for (i, b) in template.bytes().enumerate() {
            match b {
                b'{' => open.push(i),
                // With none open, a `}` closes nothing: it is plain text.
                b'}' => {
                    if let Some(start) = open.pop() {
                        ends[start] = NonZeroUsize::new(i);
                    }
                }
                _ => {}
            }
        }
        Self { ends }
    }

    /// The offset of the `}` balancing the `{` at `start`, if it has one.
    pub(crate) fn end(&self, start: usize) -> Option<usize> {
        self.ends
            .get(start)
            .copied()
            .flatten()
            .map(NonZeroUsize::get)
    }
}

/// `^([%a_][%w_.]*)(!?)(%p?)()`: the name, the raw flag, the option
/// punctuation and what follows it.
fn split_name(s: &str) -> Option<(&str, bool, Option<char>, &str)> {
    let b = s.as_bytes();
    if !b
        .first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        return None;
    }
    let name_end = b
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.'))
        .unwrap_or(b.len());
    let mut i = name_end;
    let raw = b.get(i) == Some(&b'!');
    if raw {
        i += 1;
    }
    let opt = b
        .get(i)
        .filter(|c| c.is_ascii_punctuation())
        .map(|c| char::from(*c));
    if opt.is_some() {
        i += 1;
    }
    Some((&s[..name_end], raw, opt, &s[i..]))
}

/// Lua's `subvalues` with `__index = values`: loop variables over the outer
/// scope.
enum Scope<'a> {
    Root(&'a Value),
    Loop {
        idx: &'a Value,
        item: &'a Value,
        parent: &'a Scope<'a>,
    },
}

impl<'a> Scope<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        match self {
            Scope::Root(v) => v.as_object()?.get(key).filter(|v| !v.is_null()),
            Scope::Loop { idx, item, parent } => match key {
                "idx" => Some(idx),
                "item" => Some(item),
                _ => parent.get(key),
            },
        }
    }
}

/// A looked-up value, possibly replaced by a filter's output.
enum Cow<'a> {
    Missing,
    Borrowed(&'a Value),
    Owned(Value),
}

fn truthy(v: &Value) -> bool {
    !matches!(v, Value::Null | Value::Bool(false))
}

impl<'a> Cow<'a> {
    fn from_lookup(scope: &Scope<'a>, name: &str) -> Self {
        let direct = scope.get(name);
        if direct.is_some_and(truthy) || name[1..].find('.').is_none() {
            return direct.map_or(Cow::Missing, Cow::Borrowed);
        }
        let mut words = name.split('.').filter(|w| !w.is_empty());
        let mut value = words.next().and_then(|w| scope.get(w));
        for word in words {
            match value {
                Some(v) if truthy(v) => value = v.as_object().and_then(|m| m.get(word)),
                _ => break,
            }
        }
        value
            .filter(|v| !v.is_null())
            .map_or(Cow::Missing, Cow::Borrowed)
    }

    fn get(&self) -> Option<&Value> {
        match self {
            Cow::Missing => None,
            Cow::Borrowed(v) => Some(v),
            Cow::Owned(v) => Some(v),
        }
    }

    fn truthy(&self) -> bool {
        self.get().is_some_and(truthy)
    }

    fn filtered(self, f: Filter) -> Self {
        match self.get() {
            Some(Value::String(s)) => Cow::Owned(Value::String(f(s))),
            Some(n @ Value::Number(_)) => Cow::Owned(Value::String(f(&lua_number(n)))),
            _ => self,
        }
    }

    fn to_text(&self) -> Option<String> {
        Some(match self.get()? {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            n @ Value::Number(_) => lua_number(n),
            Value::Array(_) | Value::Object(_) => String::new(),
            Value::Null => return None,
        })
    }
}

/// A number as Lua 5.4's `tostring` writes it: integers plainly, floats with
/// `%.14g` and a `.0` when that looks integral.
fn lua_number(n: &Value) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        // Lua has no unsigned integers; JSON numbers above i64 are floats.
        return format_g14(u as f64);
    }
    format_g14(n.as_f64().unwrap_or(0.0))
}

fn format_g14(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let exp = f.abs().log10().floor() as i32;
    let s = if !(-4..14).contains(&exp) {
        let s = format!("{f:.13e}");
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = trim_zeros(mant);
        let e: i32 = e.parse().unwrap_or(0);
        format!("{mant}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
    } else {
        let decimals = usize::try_from(13 - exp).unwrap_or(0);
        trim_zeros(&format!("{f:.decimals$}")).to_owned()
    };
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        format!("{s}.0")
    } else {
        s
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `url_escape` byte by byte, as Prosody's urlencode does it.
    fn escaped_bytewise(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'~' | b'_' | b'-') {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect()
    }

    #[test]
    fn url_escape_copies_runs_and_escapes_every_other_byte() {
        let mut cases: Vec<String> = [
            "",
            "a",
            "%",
            "é",
            "aé",
            "éa",
            "a b",
            "  ",
            "Xb9sT2vR7qLm4KpZ8wYd1eFg",
            "a%b%%c",
            "ü-ü_ü",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        // Every char of the first planes, alone and between kept bytes.
        for c in (0..0x800u32)
            .chain([0xFFFD, 0x1F600])
            .filter_map(char::from_u32)
        {
            cases.push(c.to_string());
            cases.push(format!("ab{c}cd{c}{c}e"));
        }
        for s in &cases {
            assert_eq!(url_escape(s), escaped_bytewise(s), "{s:?}");
            let mut out = "prefix/".to_owned();
            url_escape_into(&mut out, s);
            assert_eq!(out, format!("prefix/{}", escaped_bytewise(s)));
        }
    }

    fn url(t: &str, v: &Value) -> String {
        Renderer::url().render(t, v).unwrap()
    }

    #[test]
    fn substitution_and_escaping() {
        let v =
            json!({"a": "x y", "n": 3, "f": 1.5, "big": 1e20, "t": true, "no": false, "tbl": {}});
        assert_eq!(
            url("{a}|{a!}|{n}|{f}|{big}|{t}|{no}|{tbl}|", &v),
            "x%20y|x y|3|1.5|1e%2b20|true|false||"
        );
        assert_eq!(url("{missing}{}{1abc}{ a}", &v), "{missing}{}{1abc}{ a}");
        assert_eq!(url("{a", &v), "{a");
        assert_eq!(url("}{a}{", &v), "}x%20y{");
    }

    #[test]
    fn conditionals() {
        let v = json!({"yes": "1", "no": false, "nil": null});
        assert_eq!(
            url("{yes?alt}{no?alt}{nil?alt}{missing?alt}", &v),
            "1altaltalt"
        );
        assert_eq!(url("{yes&[{yes}]}{no&x}{missing&x}", &v), "[1]");
        assert_eq!(url("{yes~x}{no~y}{missing~z}", &v), "yz");
    }

    #[test]
    fn loops() {
        let v = json!({"l": ["a", "b"], "m": {"k1": "v1", "k2": "v2"}, "s": "str", "p": "P"});
        assert_eq!(url("{l#{idx}={item}{p};}", &v), "1=aP;2=bP;");
        assert_eq!(url("{m%{idx}={item};}", &v), "k1=v1;k2=v2;");
        assert_eq!(url("{s#x}{missing#x}{m#x}", &v), "");
        let nested = json!({"l": [{"name": "a b"}]});
        assert_eq!(url("{l#{item.name}}", &nested), "a%20b");
    }

    #[test]
    fn dotted_names() {
        let v = json!({"a.b": "direct", "x": {"y": {"z": "deep"}}, "s": "str"});
        assert_eq!(
            url("{a.b}|{x.y.z}|{x.q}|{s.len}|{x..y.z}", &v),
            "direct|deep|{x.q}|{s.len}|deep"
        );
    }

    #[test]
    fn filters() {
        let v = json!({"u": "xmpp:a@b?roster;preauth=x", "n": 5});
        assert_eq!(url("{u|noscheme!}", &v), "a@b?roster;preauth=x");
        assert_eq!(url("{u|noscheme}", &v), "a%40b%3froster%3bpreauth%3dx");
        assert_eq!(url("{u|unknown!}", &v), "xmpp:a@b?roster;preauth=x");
        assert_eq!(
            url("{u|noscheme|urlescape!}", &v),
            "a%40b%3froster%3bpreauth%3dx"
        );
        assert_eq!(url("{n|urlescape}", &v), "5");
        assert_eq!(url("{u|}", &v), "xmpp%3aa%40b%3froster%3bpreauth%3dx");
        let h = Renderer::html()
            .render("<{u|lower}>", &json!({"u": "A&B"}))
            .unwrap();
        assert_eq!(h, "<a&amp;b>");
    }

    #[test]
    fn limits() {
        let deep = format!("{}{}", "{a&".repeat(100), "}".repeat(100));
        assert_eq!(
            Renderer::url().render(&deep, &json!({"a": 1})),
            Err(TemplateError::TooDeep)
        );
        let v = json!({"l": vec![1; 64]});
        let bomb = "{l#{l#{l#{l#{l#xxxxxxxxxxxxxxxx}}}}}";
        assert_eq!(
            Renderer::url().render(bomb, &v),
            Err(TemplateError::TooLarge)
        );
    }

    /// Lua's `%b{}` from the `{` at `start`, scanning ahead.
    fn balanced_end(bytes: &[u8], start: usize) -> Option<usize> {
        let mut depth = 0;
        for (j, &b) in bytes.iter().enumerate().skip(start) {
            match b {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(j);
                    }
                }
                _ => {}
            }
        }
        None
    }

    #[test]
    fn braces_balance_as_lua_does() {
        // Every text of up to 8 bytes made of `{`, `}` and `x`.
        for len in 0..=8 {
            for n in 0..3usize.pow(len) {
                let text: String = (0..len)
                    .map(|k| ['{', '}', 'x'][n / 3usize.pow(k) % 3])
                    .collect();
                let braces = Braces::new(&text);
                for (i, b) in text.bytes().enumerate() {
                    let lua = (b == b'{').then(|| balanced_end(text.as_bytes(), i));
                    assert_eq!(braces.end(i), lua.flatten(), "{text} at {i}");
                }
            }
        }
    }

    /// Like `assert_eq!`, without printing texts of 200,000 bytes.
    fn assert_same(got: &str, want: &str) {
        let at = got.bytes().zip(want.bytes()).position(|(g, w)| g != w);
        assert!(
            got == want,
            "{} bytes, {} expected, first difference at {at:?}",
            got.len(),
            want.len()
        );
    }

    /// Scanning ahead from every unclosed `{` would take some 10^10 steps
    /// on each of these.
    #[test]
    fn unclosed_braces() {
        let v = json!({"x": "y"});
        let open = "{".repeat(200_000);
        assert_same(&url(&open, &v), &open);
        assert_same(&url(&"{{x}".repeat(50_000), &v), &"{y".repeat(50_000));
        let last_closed = format!("{}}}", "{x".repeat(100_000));
        let want = format!("{}y", "{x".repeat(99_999));
        assert_same(&url(&last_closed, &v), &want);
    }

    /// Scanning a loop's body again on each of 2^18 turns would take some
    /// 5 * 10^10 steps.
    #[test]
    fn loop_bodies_are_scanned_once() {
        let v = json!({"l": vec![1; 1 << 18]});
        let t = format!("{{l#{{missing&{}}}}}", "x".repeat(200_000));
        assert_eq!(url(&t, &v), "");
        let t = format!("{{l#{{missing&{}}}.}}", "x".repeat(200_000));
        assert_same(&url(&t, &v), &".".repeat(1 << 18));
    }

    /// Each turn of a loop looks its body's block names up again: a huge
    /// name costs steps, as 2^18 turns over a 200,000-byte name would take
    /// some 5 * 10^10 steps.
    #[test]
    fn long_names_cost_steps() {
        let v = json!({"l": vec![1; 1 << 18]});
        let t = format!("{{l#{{{}&x}}}}", "m".repeat(200_000));
        assert_eq!(
            Renderer::url().render(&t, &v),
            Err(TemplateError::TooComplex)
        );
        // Names of ordinary length cost nothing more.
        let t = format!("{{l#{{{}&x}}}}", "m".repeat(63));
        assert_eq!(url(&t, &v), "");
    }

    #[test]
    fn lua_numbers() {
        for (f, s) in [
            (0.1, "0.1"),
            (100.0, "100.0"),
            (-2.5, "-2.5"),
            (1e15, "1e+15"),
            (1.0e-5, "1e-05"),
            (123456.789, "123456.789"),
            (1.0 / 3.0, "0.33333333333333"),
        ] {
            assert_eq!(format_g14(f), s, "{f}");
        }
    }
}
