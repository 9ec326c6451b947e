//! What a form posted, carried back to its page when it was refused: the input kept, each
//! problem next to its field, and what the service said in words.

/// The problems of a posted form.
#[derive(Debug, Default, Clone)]
pub struct Problems {
    fields: Vec<(&'static str, String)>,
    /// A refusal that belongs to no one field (the phase, the role, a conflict).
    pub general: Option<String>,
}

impl Problems {
    /// Marks `field` with `message`.
    pub fn field(&mut self, field: &'static str, message: impl Into<String>) {
        self.fields.push((field, message.into()));
    }

    /// Requires a non-blank value.
    pub fn require(&mut self, field: &'static str, value: &str, message: impl Into<String>) {
        if value.trim().is_empty() {
            self.field(field, message);
        }
    }

    /// The problem with `field`, if any.
    pub fn of(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.general.is_none()
    }
}
