//! CSV export of table views (RFC 4180 quoting; cells a spreadsheet would run as a formula are
//! prefixed with `'` so an exported name cannot execute in the manager's spreadsheet).

use axum::http::header;
use axum::response::{IntoResponse, Response};

fn cell(out: &mut String, value: &str) {
    // Plain signed numbers stay numbers; anything else opening like a formula is defused
    // (`-inf` and `-1e5` parse as floats but a spreadsheet reads them as formulas).
    let plain_number = {
        let digits = value.strip_prefix(['-', '+']).unwrap_or(value);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    };
    let risky = value.starts_with(['=', '+', '-', '@', '\t', '\r']) && !plain_number;
    let needs_quotes = risky || value.contains([',', '"', '\n', '\r']);
    if !needs_quotes {
        out.push_str(value);
        return;
    }
    out.push('"');
    if risky {
        out.push('\'');
    }
    out.push_str(&value.replace('"', "\"\""));
    out.push('"');
}

/// A CSV document: one header line, then one line per row, CRLF line ends.
pub fn csv_body(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        for (i, c) in cells.enumerate() {
            if i > 0 {
                out.push(',');
            }
            cell(&mut out, c);
        }
        out.push_str("\r\n");
    };
    line(&mut headers.iter().copied());
    for r in rows {
        line(&mut r.iter().map(String::as_str));
    }
    out
}

/// A CSV download named `{name}.csv`.
pub fn csv_response(name: &str, headers: &[&str], rows: &[Vec<String>]) -> Response {
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}.csv\""),
            ),
        ],
        csv_body(headers, rows),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it_and_defuses_formulas() {
        let rows = vec![
            vec!["plain".into(), "a,b".into(), "say \"hi\"".into(), "".into()],
            vec![
                "two\nlines".into(),
                "=1+1".into(),
                "-5".into(),
                "-cmd".into(),
            ],
            vec!["-inf".into(), "+1e5".into(), "@x".into(), "\tx".into()],
        ];
        let body = csv_body(&["x", "y", "z", "w"], &rows);
        assert_eq!(
            body,
            "x,y,z,w\r\nplain,\"a,b\",\"say \"\"hi\"\"\",\r\n\"two\nlines\",\"'=1+1\",-5,\"'-cmd\"\r\n\
             \"'-inf\",\"'+1e5\",\"'@x\",\"'\tx\"\r\n"
        );
    }
}
