//! The note posted on the C2S lead (spec: shared/spec/C2S_MESSAGE.md).
//!
//! Plain text, Portuguese, emoji section headers, one fact per line, every line
//! ending in `\n`, no trailing spaces, at most `max_chars` characters (cut at a
//! line boundary with a last line `… (resumido)`). Money is exact decimal
//! arithmetic, rounded half away from zero; age is computed against an
//! injected "today".

mod format;
mod sections;
mod settings;

pub use format::{format_identified_note, format_note};
pub use settings::{
    CompanyName, NoteIdentity, NoteSettings, PersonLine, Resolution, Sections, UnshownLine,
};
