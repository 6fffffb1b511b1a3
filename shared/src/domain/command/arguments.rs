//! How a command's argument is read: a number from a list, a user, text as typed.

use super::UsageProblem;
use crate::domain::access::Who;

/// One user: a numeric id or an `@username`.
pub fn user(args: &str) -> Result<Who, UsageProblem> {
    let mut words = args.split_whitespace();
    let word = words.next().ok_or(UsageProblem::MissingUser)?;
    if words.next().is_some() {
        return Err(UsageProblem::TooManyArguments);
    }
    Who::parse(word).map_err(|e| UsageProblem::NotAUser(e.0))
}

pub fn required_number(args: &str) -> Result<usize, UsageProblem> {
    optional_number(args)?.ok_or(UsageProblem::MissingNumber)
}

/// A number from a list (1 or more, `#2` too), or none.
pub fn optional_number(args: &str) -> Result<Option<usize>, UsageProblem> {
    let mut words = args.split_whitespace();
    let Some(word) = words.next() else {
        return Ok(None);
    };
    if words.next().is_some() {
        return Err(UsageProblem::TooManyArguments);
    }
    let digits = word.strip_prefix('#').unwrap_or(word);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // All digits but too long for usize is still "a number", just not one of theirs.
        let n = digits.parse::<usize>().unwrap_or(usize::MAX);
        return if n == 0 {
            Err(UsageProblem::NumberTooSmall)
        } else {
            Ok(Some(n))
        };
    }
    if digits.starts_with('-')
        && digits[1..].bytes().all(|b| b.is_ascii_digit())
        && digits.len() > 1
    {
        return Err(UsageProblem::NumberTooSmall);
    }
    let shown: String = word.chars().take(32).collect();
    Err(UsageProblem::NotANumber(shown))
}

/// A number from a list, then text (`/rename 2 Trip to Rome`).
pub fn number_and_text(args: &str) -> Result<(usize, String), UsageProblem> {
    let (first, rest) = match args.find(char::is_whitespace) {
        Some(i) => (&args[..i], args[i..].trim()),
        None => (args, ""),
    };
    let number = required_number(first)?;
    if rest.is_empty() {
        return Err(UsageProblem::MissingText);
    }
    Ok((number, rest.to_string()))
}

/// A number from a list, then optionally the word `confirm` (`/delete 2 confirm`).
pub fn number_and_confirmation(args: &str) -> Result<(usize, bool), UsageProblem> {
    let mut words = args.split_whitespace();
    let number = required_number(words.next().unwrap_or(""))?;
    let confirmed = match words.next() {
        None => false,
        Some(word) if word.eq_ignore_ascii_case("confirm") => true,
        Some(_) => return Err(UsageProblem::TooManyArguments),
    };
    if words.next().is_some() {
        return Err(UsageProblem::TooManyArguments);
    }
    Ok((number, confirmed))
}

/// The text after the command as typed (inner spacing and new lines kept), not blank.
pub fn text_as_typed(typed: &str) -> Result<String, UsageProblem> {
    let after = typed.trim_start_matches([' ', '\t']);
    let after = after.strip_prefix('\n').unwrap_or(after);
    if after.trim().is_empty() {
        Err(UsageProblem::MissingText)
    } else {
        Ok(after.trim_end().to_string())
    }
}
