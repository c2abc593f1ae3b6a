#pragma once

#include <QStringList>

namespace kvdesk::Translations {

// The language asked for on the command line (--lang CODE or --lang=CODE), else empty: the
// system's locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG) decides.
QString requestedLanguage(const QStringList &arguments);

// Installs KV Desk's translation for `language` (a code such as "de" or "fr_CH"; empty: the
// system's languages in order of preference) and Qt's own for its dialogs, when installed. Also
// makes it the default QLocale. Returns the translation's language, or empty when English stays
// (asked for, or no translation of the language exists).
QString install(const QString &language);

// What the HTTP API sends is English whatever the user's language, like the original's: clients
// and their logs must not depend on the locale of the desktop the server runs on. A thread that
// calls this sees no translation (the server threads); the window and the command line do.
void keepThisThreadInEnglish();

} // namespace kvdesk::Translations
