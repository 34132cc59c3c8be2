//! Ad-hoc command data (XEP-0050, XEP-0401 0.6.0): the forms the bindings
//! render as `jabber:x:data`.

use crate::datetime::{DateTimeError, format_datetime};
use crate::jid::{BareJid, JidError, prep_username};
use crate::period::NEVER_EXPIRES;

/// `FORM_TYPE` of the invitation result form.
pub const FORM_TYPE_INVITATION: &str = "urn:xmpp:invite#invitation";
/// Node of the contact invite command.
pub const NODE_INVITE: &str = "urn:xmpp:invite#invite";
/// Node of the account invite command.
pub const NODE_CREATE_ACCOUNT: &str = "urn:xmpp:invite#create-account";
/// Node of Prosody 13's password reset command.
pub const NODE_PASSWORD_RESET: &str = "xmpp:prosody.im/mod_invites_adhoc#password-reset";

/// A data form field's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `hidden`.
    Hidden,
    /// `text-single`.
    TextSingle,
    /// `boolean`.
    Boolean,
    /// `jid-single`.
    JidSingle,
}

impl FieldType {
    /// The XEP-0004 type name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hidden => "hidden",
            Self::TextSingle => "text-single",
            Self::Boolean => "boolean",
            Self::JidSingle => "jid-single",
        }
    }
}

/// One field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    /// The `var`.
    pub var: &'static str,
    /// The type.
    pub field_type: FieldType,
    /// The label, if any.
    pub label: Option<&'static str>,
    /// Whether `<required/>`.
    pub required: bool,
    /// The value, if any.
    pub value: Option<String>,
}

impl FormField {
    fn new(var: &'static str, field_type: FieldType, label: Option<&'static str>) -> Self {
        Self {
            var,
            field_type,
            label,
            required: false,
            value: None,
        }
    }
}

/// A form (`type='form'`) or result (`type='result'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataForm {
    /// `form` or `result`.
    pub form_type: &'static str,
    /// The title.
    pub title: &'static str,
    /// The fields, `FORM_TYPE` first.
    pub fields: Vec<FormField>,
}

impl DataForm {
    /// The value of field `var`.
    pub fn value(&self, var: &str) -> Option<&str> {
        self.fields.iter().find(|f| f.var == var)?.value.as_deref()
    }
}

/// The XEP-0401 result of an invite command: `FORM_TYPE`, `uri`,
/// `landing-url` when there is one, `expire` when the invite expires.
///
/// ```
/// let form = xmpp_invites::invitation_result_form(
///     "xmpp:example.com?register;preauth=Xb9sT2vR7qLm4KpZ8wYd1eFg", None, Some(1795856400)).unwrap();
/// assert_eq!(form.value("FORM_TYPE"), Some("urn:xmpp:invite#invitation"));
/// assert_eq!(form.value("expire"), Some("2026-11-28T09:00:00Z"));
/// ```
pub fn invitation_result_form(
    uri: &str,
    landing_url: Option<&str>,
    expires: Option<i64>,
) -> Result<DataForm, DateTimeError> {
    let with = |mut f: FormField, v: &str| {
        f.value = Some(v.to_owned());
        f
    };
    let mut fields = vec![with(
        FormField::new("FORM_TYPE", FieldType::Hidden, None),
        FORM_TYPE_INVITATION,
    )];
    if let Some(url) = landing_url {
        fields.push(with(
            FormField::new(
                "landing-url",
                FieldType::TextSingle,
                Some("Invite web page"),
            ),
            url,
        ));
    }
    fields.push(with(
        FormField::new("uri", FieldType::TextSingle, Some("Invite URI")),
        uri,
    ));
    // XEP-0401: no `expire` means the invite never expires.
    if let Some(e) = expires.filter(|e| *e < NEVER_EXPIRES) {
        fields.push(with(
            FormField::new("expire", FieldType::TextSingle, Some("Invite valid until")),
            &format_datetime(e)?,
        ));
    }
    Ok(DataForm {
        form_type: "result",
        title: "Your invite has been created",
        fields,
    })
}

/// The XEP-0401 0.6.0 create-account form: `username` (required when the
/// server asks for one) and the boolean `roster-subscription`.
pub fn create_account_form(username_required: bool) -> DataForm {
    let mut username = FormField::new("username", FieldType::TextSingle, Some("Username"));
    username.required = username_required;
    DataForm {
        form_type: "form",
        title: "Create an account invite",
        fields: vec![
            username,
            FormField::new(
                "roster-subscription",
                FieldType::Boolean,
                Some("Add the new account to my contacts"),
            ),
        ],
    }
}

/// Prosody 13's password reset form: `accountjid`, required.
pub fn password_reset_form() -> DataForm {
    let mut jid = FormField::new("accountjid", FieldType::JidSingle, Some("Account"));
    jid.required = true;
    DataForm {
        form_type: "form",
        title: "Create a password reset invite",
        fields: vec![jid],
    }
}

/// Why a submitted form was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// A required field is missing or empty.
    #[error("the field {0:?} is required")]
    Missing(&'static str),
    /// A field appears twice.
    #[error("the field {0:?} appears more than once")]
    Duplicate(String),
    /// A boolean other than `1`, `true`, `0`, `false`.
    #[error("the field {var:?} must be true or false, not {value:?}")]
    NotBoolean {
        /// The field.
        var: &'static str,
        /// The value given.
        value: String,
    },
    /// The username or JID is invalid.
    #[error("invalid JID or username: {0}")]
    Jid(#[from] JidError),
}

impl FormError {
    /// A stable, machine-readable name for this error (kebab-case), the
    /// same in the C and Lua bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing(_) => "missing-field",
            Self::Duplicate(_) => "duplicate-field",
            Self::NotBoolean { .. } => "not-boolean",
            Self::Jid(e) => e.code(),
        }
    }
}

/// A submitted create-account form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateAccountRequest {
    /// The username to bind the invite to, nodeprepped.
    pub username: Option<String>,
    /// Whether the new account becomes a contact of the requester.
    pub roster_subscription: bool,
}

fn single<'a>(fields: &[(&'a str, &'a str)], var: &str) -> Result<Option<&'a str>, FormError> {
    let mut found = fields
        .iter()
        .filter(|(v, _)| *v == var)
        .map(|(_, value)| *value);
    let first = found.next();
    if found.next().is_some() {
        return Err(FormError::Duplicate(var.to_owned()));
    }
    Ok(first)
}

/// Reads a submitted create-account form (`var`, value pairs; unknown
/// fields ignored).
///
/// ```
/// use xmpp_invites::parse_create_account_submission;
/// let req = parse_create_account_submission(&[("username", "Juliet"), ("roster-subscription", "1")], true).unwrap();
/// assert_eq!(req.username.as_deref(), Some("juliet"));
/// assert!(req.roster_subscription);
/// ```
pub fn parse_create_account_submission(
    fields: &[(&str, &str)],
    username_required: bool,
) -> Result<CreateAccountRequest, FormError> {
    let username = single(fields, "username")?
        .map(str::trim)
        .filter(|u| !u.is_empty());
    if username_required && username.is_none() {
        return Err(FormError::Missing("username"));
    }
    let roster_subscription = match single(fields, "roster-subscription")? {
        None | Some("0" | "false" | "") => false,
        Some("1" | "true") => true,
        Some(other) => {
            return Err(FormError::NotBoolean {
                var: "roster-subscription",
                value: other.to_owned(),
            });
        }
    };
    Ok(CreateAccountRequest {
        username: username.map(prep_username).transpose()?,
        roster_subscription,
    })
}

/// Reads a submitted password reset form: the account's bare JID.
pub fn parse_password_reset_submission(fields: &[(&str, &str)]) -> Result<BareJid, FormError> {
    let jid = single(fields, "accountjid")?
        .map(str::trim)
        .filter(|j| !j.is_empty())
        .ok_or(FormError::Missing("accountjid"))?;
    let jid = BareJid::parse(jid)?;
    if jid.username().is_none() {
        return Err(FormError::Jid(JidError::EmptyUsername));
    }
    Ok(jid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_form_fields() {
        let f = invitation_result_form("xmpp:x", Some("https://l"), Some(NEVER_EXPIRES)).unwrap();
        let vars: Vec<_> = f.fields.iter().map(|f| f.var).collect();
        assert_eq!(vars, ["FORM_TYPE", "landing-url", "uri"]);
        assert!(invitation_result_form("xmpp:x", None, Some(-99_999_999_999)).is_err());
    }

    #[test]
    fn submissions() {
        assert_eq!(
            parse_create_account_submission(&[], true),
            Err(FormError::Missing("username"))
        );
        assert_eq!(
            parse_create_account_submission(&[("username", "  ")], false).unwrap(),
            CreateAccountRequest {
                username: None,
                roster_subscription: false
            }
        );
        assert!(matches!(
            parse_create_account_submission(&[("roster-subscription", "yes")], false),
            Err(FormError::NotBoolean { .. })
        ));
        assert!(matches!(
            parse_create_account_submission(&[("username", "a"), ("username", "b")], false),
            Err(FormError::Duplicate(_))
        ));
        assert!(matches!(
            parse_create_account_submission(&[("username", "a@b")], false),
            Err(FormError::Jid(_))
        ));
        assert_eq!(
            parse_password_reset_submission(&[("accountjid", "Romeo@example.com")])
                .unwrap()
                .to_string(),
            "romeo@example.com"
        );
        assert!(parse_password_reset_submission(&[("accountjid", "example.com")]).is_err());
        assert_eq!(
            parse_password_reset_submission(&[]),
            Err(FormError::Missing("accountjid"))
        );
        assert!(create_account_form(true).fields[0].required);
        assert!(password_reset_form().fields[0].required);
    }
}
