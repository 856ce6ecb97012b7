//! Parsing one tracefs `format` file with the pest grammar in
//! `grammar/tracepoint_format.pest`.

use pest::Parser;
use pest_derive::Parser;

use crate::btf::types::FieldLocation;

#[derive(Parser)]
#[grammar = "../../grammar/tracepoint_format.pest"]
struct FormatGrammar;

/// A parsed `format` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFormat {
    pub name: String,
    pub id: u32,
    pub fields: Vec<FormatField>,
    /// The `print fmt:` text, unparsed.
    pub print_fmt: String,
}

/// One `field:` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatField {
    pub name: String,
    /// The type without the name, with any array suffix kept:
    /// `const char *`, `char[]`, `unsigned long[6]`.
    pub c_type: String,
    pub offset: u32,
    pub size: u32,
    pub signed: Option<bool>,
    pub location: FieldLocation,
    /// Parsed array length (`Some(0)` for `[]`; `None` when not an array or
    /// the length is not a number).
    pub array_len: Option<u32>,
}

impl FormatField {
    /// Fields every event starts with (`common_type`, `common_pid`, ...).
    pub fn is_common(&self) -> bool {
        self.name.starts_with("common_")
    }
}

/// A `format` file that does not parse: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct FormatParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Parses the text of one `format` file.
pub fn parse_format(text: &str) -> Result<EventFormat, FormatParseError> {
    let mut pairs = FormatGrammar::parse(Rule::format_file, text).map_err(|error| {
        let (line, column) = match error.line_col {
            pest::error::LineColLocation::Pos(pos) => pos,
            pest::error::LineColLocation::Span(start, _) => start,
        };
        FormatParseError {
            line,
            column,
            message: error.variant.message().into_owned(),
        }
    })?;
    let mut format = EventFormat {
        name: String::new(),
        id: 0,
        fields: Vec::new(),
        print_fmt: String::new(),
    };
    let Some(file) = pairs.next() else {
        return Ok(format);
    };
    for pair in file.into_inner() {
        match pair.as_rule() {
            Rule::event_name => format.name = pair.as_str().to_string(),
            Rule::event_id => format.id = pair.as_str().parse().unwrap_or(0),
            Rule::field_section => {
                for line in pair.into_inner() {
                    if line.as_rule() == Rule::field_line {
                        format.fields.push(field_from(line));
                    }
                }
            }
            Rule::print_fmt => {
                format.print_fmt = pair
                    .into_inner()
                    .next()
                    .map(|text| text.as_str().trim_end().to_string())
                    .unwrap_or_default();
            }
            _ => {}
        }
    }
    Ok(format)
}

fn field_from(line: pest::iterators::Pair<'_, Rule>) -> FormatField {
    let mut field = FormatField {
        name: String::new(),
        c_type: String::new(),
        offset: 0,
        size: 0,
        signed: None,
        location: FieldLocation::Inline,
        array_len: None,
    };
    let mut numbers = Vec::with_capacity(3);
    let mut array_suffix = None;
    for part in line.into_inner() {
        match part.as_rule() {
            Rule::declaration => {
                for piece in part.into_inner() {
                    match piece.as_rule() {
                        Rule::location => {
                            field.location = if piece.as_str() == "__rel_loc" {
                                FieldLocation::RelLoc
                            } else {
                                FieldLocation::DataLoc
                            };
                        }
                        Rule::c_type => field.c_type = piece.as_str().trim().to_string(),
                        Rule::field_name => field.name = piece.as_str().to_string(),
                        Rule::array_suffix => {
                            let len_text = piece
                                .into_inner()
                                .next()
                                .map(|len| len.as_str().trim().to_string())
                                .unwrap_or_default();
                            array_suffix = Some(len_text);
                        }
                        _ => {}
                    }
                }
            }
            Rule::number => numbers.push(part.as_str().parse::<i64>().unwrap_or(0)),
            _ => {}
        }
    }
    field.offset = numbers.first().copied().unwrap_or(0).max(0) as u32;
    field.size = numbers.get(1).copied().unwrap_or(0).max(0) as u32;
    field.signed = numbers.get(2).map(|&signed| signed != 0);
    // `__data_loc char[] name`: the brackets belong to the type text.
    if let Some(inner) = field
        .c_type
        .strip_suffix(']')
        .and_then(|rest| rest.rsplit_once('['))
        .map(|(_, inner)| inner.trim().to_string())
    {
        field.array_len = Some(if inner.is_empty() {
            0
        } else {
            inner.parse().unwrap_or(0)
        });
    }
    if let Some(len_text) = array_suffix {
        field.array_len = if len_text.is_empty() {
            Some(0)
        } else {
            len_text.parse().ok()
        };
        field.c_type = format!("{}[{len_text}]", field.c_type);
    }
    field
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests may unwrap")]
mod tests {
    use super::*;

    const OPENAT: &str = "name: sys_enter_openat\nID: 782\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\
\n\
\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n\
\tfield:int dfd;\toffset:16;\tsize:8;\tsigned:0;\n\
\tfield:const char * filename;\toffset:24;\tsize:8;\tsigned:0;\n\
\tfield:int flags;\toffset:32;\tsize:8;\tsigned:0;\n\
\tfield:umode_t mode;\toffset:40;\tsize:8;\tsigned:0;\n\
\n\
print fmt: \"dfd: 0x%08lx\", ((unsigned long)(REC->dfd))\n";

    #[test]
    fn parses_a_syscall_format() {
        let format = parse_format(OPENAT).unwrap();
        assert_eq!(format.name, "sys_enter_openat");
        assert_eq!(format.id, 782);
        assert_eq!(format.fields.len(), 9);
        let filename = &format.fields[6];
        assert_eq!(filename.name, "filename");
        assert_eq!(filename.c_type, "const char *");
        assert_eq!((filename.offset, filename.size), (24, 8));
        assert_eq!(filename.signed, Some(false));
        assert!(format.fields[3].is_common());
        assert!(!format.fields[4].is_common());
        assert!(format.print_fmt.starts_with("\"dfd"));
    }

    #[test]
    fn parses_data_loc_and_arrays() {
        let text = "name: x\nID: 1\nformat:\n\
\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n\
\tfield:unsigned long args[6];\toffset:16;\tsize:48;\tsigned:0;\n\
\tfield:char comm[TASK_COMM_LEN];\toffset:64;\tsize:16;\n\
\n\
print fmt: \"multi\nline\"\n";
        let format = parse_format(text).unwrap();
        let filename = &format.fields[0];
        assert_eq!(filename.location, FieldLocation::DataLoc);
        assert_eq!(filename.c_type, "char[]");
        assert_eq!(filename.array_len, Some(0));
        let args = &format.fields[1];
        assert_eq!(args.name, "args");
        assert_eq!(args.c_type, "unsigned long[6]");
        assert_eq!(args.array_len, Some(6));
        let comm = &format.fields[2];
        assert_eq!(comm.signed, None);
        assert_eq!(comm.array_len, None);
        assert_eq!(comm.c_type, "char[TASK_COMM_LEN]");
        assert_eq!(format.print_fmt, "\"multi\nline\"");
    }

    #[test]
    fn rejects_garbage_with_a_position() {
        let error = parse_format("name: x\nID: nope\n").unwrap_err();
        assert_eq!(error.line, 2);
    }
}
