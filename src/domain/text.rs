//! Turning user text into safe HTML: markdown from local users, HTML from remote servers.
//!
//! pulldown-cmark renders CommonMark; ammonia removes anything a browser could execute.
//! Both are well-kept crates used widely, which beats a hand-written sanitiser.

/// Renders markdown to sanitised HTML.
pub fn markdown_to_html(source: &str) -> String {
    let parser = pulldown_cmark::Parser::new(source);
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, parser);
    sanitize_html(&html)
}

/// Removes scripts, event handlers and other unsafe markup from remote HTML.
pub fn sanitize_html(html: &str) -> String {
    ammonia::clean(html)
}

/// Plain text of an HTML fragment: one line per paragraph, line break or list item.
pub fn html_to_text(html: &str) -> String {
    let mut marked = html.to_string();
    for tag in [
        "</p>",
        "<br>",
        "<br/>",
        "<br />",
        "</div>",
        "</li>",
        "</h1>",
        "</h2>",
        "</h3>",
        "</blockquote>",
    ] {
        marked = marked.replace(tag, &format!("{tag}\n"));
    }
    let cleaned = ammonia::Builder::empty().clean(&marked).to_string();
    cleaned
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Removes the `@room@node` mentions a post starts with (how Mastodon users address a room).
pub fn strip_leading_mentions(text: &str) -> String {
    let mut rest = text.trim_start();
    while rest.starts_with('@') {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest.to_string()
}

/// A title for an idea suggested by a plain post: its first line, at most 120 characters.
/// A short plain-text pitch of an HTML text for link previews: its first paragraph, at most
/// `max` characters (cut at a word, with an ellipsis).
pub fn pitch(html: &str, max: usize) -> String {
    let text = html_to_text(html);
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if first.chars().count() <= max {
        return first.to_string();
    }
    let cut: String = first.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map(|(head, _)| head).unwrap_or(&cut);
    format!("{}…", cut.trim_end())
}

pub fn title_from_text(text: &str) -> String {
    let first = text.lines().next().unwrap_or("").trim();
    let mut title: String = first.chars().take(120).collect();
    if first.chars().count() > 120 {
        title.push('…');
    }
    if title.is_empty() {
        "Untitled suggestion".to_string()
    } else {
        title
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pitch_is_the_first_paragraph_cut_at_a_word() {
        let html = "<p>Use <b>recycled</b> aluminium for the casing.</p><p>Second.</p>";
        assert_eq!(pitch(html, 200), "Use recycled aluminium for the casing.");
        assert_eq!(pitch(html, 20), "Use recycled…");
        assert_eq!(pitch("", 20), "");
    }

    #[test]
    fn markdown_renders_and_scripts_are_removed() {
        let html = markdown_to_html("**bold** <script>alert(1)</script> [x](javascript:alert(1))");
        assert!(html.contains("<strong>bold</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
    }

    #[test]
    fn remote_html_is_sanitised() {
        let html = sanitize_html(r#"<p onclick="x()">hi<img src=x onerror=alert(1)></p>"#);
        assert!(!html.contains("onclick"));
        assert!(!html.contains("onerror"));
        assert!(html.contains("hi"));
    }

    #[test]
    fn text_and_titles() {
        assert_eq!(
            html_to_text("<p>Make it <b>lighter</b></p>"),
            "Make it lighter"
        );
        assert_eq!(
            html_to_text("<p>Charging station</p><p>So that <br>we can</p>"),
            "Charging station\nSo that\nwe can"
        );
        assert_eq!(
            strip_leading_mentions("@widgets @bob Solar lid\nfor the case"),
            "Solar lid\nfor the case"
        );
        assert_eq!(
            title_from_text(&strip_leading_mentions("@room")),
            "Untitled suggestion"
        );
        assert_eq!(title_from_text(""), "Untitled suggestion");
        assert_eq!(title_from_text(&"x".repeat(200)).chars().count(), 121);
    }
}
