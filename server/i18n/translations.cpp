#include "translations.h"

#include <QCoreApplication>
#include <QLibraryInfo>
#include <QLocale>
#include <QLoggingCategory>
#include <QTranslator>

using namespace Qt::StringLiterals;

Q_LOGGING_CATEGORY(lcI18n, "kvdesk.i18n", QtInfoMsg)

namespace kvdesk::Translations {

namespace {

thread_local bool t_english = false;

// A translator that the server threads do not see.
class Translator final : public QTranslator
{
public:
    using QTranslator::QTranslator;
    QString translate(const char *context, const char *sourceText, const char *disambiguation,
                      int n) const override
    {
        if (t_english)
            return {};
        return QTranslator::translate(context, sourceText, disambiguation, n);
    }
};

} // namespace

QString requestedLanguage(const QStringList &arguments)
{
    for (qsizetype i = 1; i < arguments.size(); ++i) {
        const QString &arg = arguments.at(i);
        if (arg == "--lang"_L1 && i + 1 < arguments.size())
            return arguments.at(i + 1);
        if (arg.startsWith("--lang="_L1))
            return arg.sliced(7);
    }
    return {};
}

QString install(const QString &language)
{
    const QLocale locale = language.isEmpty() ? QLocale::system() : QLocale(language);
    QLocale::setDefault(locale);
    auto *app = QCoreApplication::instance();
    auto *own = new Translator(app);
    // The translations are built into the binary (see server/CMakeLists.txt).
    if (!own->load(locale, u"kvdesk"_s, u"_"_s, u":/i18n"_s)) {
        delete own;
        qCDebug(lcI18n) << "no translation for" << locale.uiLanguages() << "- English";
        return {};
    }
    QCoreApplication::installTranslator(own);
    // Qt's own strings (the buttons of its dialogs, the command-line parser's errors).
    auto *qt = new Translator(app);
    if (qt->load(locale, u"qtbase"_s, u"_"_s, QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
        QCoreApplication::installTranslator(qt);
    else
        delete qt;
    return own->language();
}

void keepThisThreadInEnglish()
{
    t_english = true;
}

} // namespace kvdesk::Translations
