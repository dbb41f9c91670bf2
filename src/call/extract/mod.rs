//! Typed values out of a caller's answers: what the callback dialog turns "six five zero, double two ..." or
//! a keypad entry into. Pure functions over text, with the language's words as data
//! (`prompts/<lang>/fields.toml`).

pub mod phone;
