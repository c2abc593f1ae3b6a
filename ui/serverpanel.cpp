#include "serverpanel.h"

#include "auth/authenticator.h"
#include "credentials/credentialvault.h"
#include "credentialsdialog.h"
#include "displayformat.h"
#include "http/accesslog.h"
#include "keymodel.h"
#include "kvserver.h"
#include "ratechart.h"
#include "requestlogmodel.h"
#include "store/store.h"

#include <QApplication>
#include <QClipboard>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPushButton>
#include <QScrollBar>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

namespace kvdesk {

namespace {

QString shellQuote(const QString &s)
{
    QString quoted = s;
    quoted.replace(QLatin1Char('\''), QStringLiteral("'\\''"));
    return QLatin1Char('\'') + quoted + QLatin1Char('\'');
}

} // namespace

ServerPanel::ServerPanel(KvServer &server, CredentialVault *vault, QWidget *parent)
    : QWidget(parent), m_server(server), m_log(new RequestLogModel(5000, this)),
      m_logFilter(new QSortFilterProxyModel(this)), m_chart(new RateChart(this)), m_vault(vault)
{
    setObjectName(QStringLiteral("serverPanel"));
    m_url = new QLineEdit(this);
    m_url->setObjectName(QStringLiteral("serverUrl"));
    m_url->setReadOnly(true);
    auto *copyUrl = new QToolButton(this);
    copyUrl->setObjectName(QStringLiteral("copyUrlButton"));
    copyUrl->setIcon(QIcon(QStringLiteral(":/icons/copy.svg")));
    copyUrl->setToolTip(tr("Copy the URL"));
    m_state = new QLabel(this);
    m_state->setObjectName(QStringLiteral("serverState"));
    m_startStop = new QPushButton(this);
    m_startStop->setObjectName(QStringLiteral("startStopButton"));
    m_host = new QLineEdit(server.config().host, this);
    m_host->setObjectName(QStringLiteral("hostEdit"));
    m_port = new QSpinBox(this);
    m_port->setObjectName(QStringLiteral("portSpin"));
    m_port->setRange(0, 65535);
    m_port->setSpecialValueText(tr("any free port"));
    m_port->setValue(server.config().port);
    auto *apply = new QPushButton(tr("Apply"), this);
    apply->setObjectName(QStringLiteral("applyListenButton"));
    apply->setToolTip(tr("Restart the listener on this host and port"));
    m_keys = new QLabel(this);
    m_keys->setObjectName(QStringLiteral("keyCountLabel"));
    m_database = new QLabel(this);
    m_database->setObjectName(QStringLiteral("databaseLabel"));
    m_database->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_database->setWordWrap(true);
    m_auth = new QLabel(this);
    m_auth->setObjectName(QStringLiteral("authLabel"));
    m_auth->setWordWrap(true);
    m_auth->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_keychain = new QLabel(this);
    m_keychain->setObjectName(QStringLiteral("keychainStatus"));
    m_keychain->setWordWrap(true);
    m_keychain->hide();
    auto *credentials = new QPushButton(tr("Credentials..."), this);
    credentials->setObjectName(QStringLiteral("credentialsButton"));
    auto *copyKey = new QToolButton(this);
    copyKey->setObjectName(QStringLiteral("copyApiKeyButton"));
    copyKey->setIcon(QIcon(QStringLiteral(":/icons/copy.svg")));
    copyKey->setToolTip(tr("Copy the API key"));
    m_error = new QLabel(this);
    m_error->setObjectName(QStringLiteral("serverError"));
    m_error->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_error->setWordWrap(true);
    m_error->hide();

    auto *urlRow = new QHBoxLayout;
    urlRow->addWidget(m_url, 1);
    urlRow->addWidget(copyUrl);
    auto *stateRow = new QHBoxLayout;
    stateRow->addWidget(m_state, 1);
    stateRow->addWidget(m_startStop);
    auto *listenRow = new QHBoxLayout;
    listenRow->addWidget(m_host, 1);
    listenRow->addWidget(m_port);
    listenRow->addWidget(apply);
    auto *form = new QFormLayout;
    form->addRow(tr("URL:"), urlRow);
    form->addRow(tr("State:"), stateRow);
    form->addRow(tr("Listen on:"), listenRow);
    form->addRow(tr("Keys:"), m_keys);
    form->addRow(tr("Database:"), m_database);
    auto *authRow = new QHBoxLayout;
    authRow->addWidget(m_auth, 1);
    authRow->addWidget(copyKey, 0, Qt::AlignTop);
    authRow->addWidget(credentials, 0, Qt::AlignTop);
    form->addRow(tr("Authentication:"), authRow);
    form->addRow(QString(), m_keychain);
    auto *overview = new QWidget(this);
    auto *overviewLayout = new QVBoxLayout(overview);
    overviewLayout->setContentsMargins(0, 0, 0, 0);
    overviewLayout->addLayout(form);
    overviewLayout->addWidget(m_error);
    overviewLayout->addWidget(m_chart, 1);

    auto *filter = new QLineEdit(this);
    filter->setObjectName(QStringLiteral("logFilter"));
    filter->setPlaceholderText(tr("Filter the request log (method, path, status, client)"));
    filter->setClearButtonEnabled(true);
    auto *clear = new QPushButton(tr("Clear"), this);
    clear->setObjectName(QStringLiteral("clearLogButton"));
    m_logFilter->setSourceModel(m_log);
    m_logFilter->setFilterKeyColumn(-1);
    m_logFilter->setFilterRole(RequestLogModel::FilterRole);
    m_logFilter->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_logView = new QTableView(this);
    m_logView->setObjectName(QStringLiteral("requestLog"));
    m_logView->setModel(m_logFilter);
    m_logView->verticalHeader()->hide();
    m_logView->verticalHeader()->setDefaultSectionSize(m_logView->fontMetrics().height() + 6);
    m_logView->horizontalHeader()->setStretchLastSection(false);
    m_logView->horizontalHeader()->setSectionResizeMode(RequestLogModel::PathColumn, QHeaderView::Stretch);
    m_logView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_logView->setAlternatingRowColors(true);
    auto *logTop = new QHBoxLayout;
    logTop->addWidget(filter, 1);
    logTop->addWidget(clear);
    auto *logPane = new QWidget(this);
    auto *logLayout = new QVBoxLayout(logPane);
    logLayout->setContentsMargins(0, 0, 0, 0);
    logLayout->addLayout(logTop);
    logLayout->addWidget(m_logView, 1);

    auto *splitter = new QSplitter(Qt::Horizontal, this);
    splitter->setObjectName(QStringLiteral("serverSplitter"));
    splitter->addWidget(overview);
    splitter->addWidget(logPane);
    splitter->setStretchFactor(1, 1);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(splitter);

    QObject::connect(copyUrl, &QToolButton::clicked, this, &ServerPanel::copyUrl);
    QObject::connect(copyKey, &QToolButton::clicked, this, &ServerPanel::copyApiKey);
    QObject::connect(credentials, &QPushButton::clicked, this, &ServerPanel::editCredentials);
    QObject::connect(m_startStop, &QPushButton::clicked, this, &ServerPanel::toggleRunning);
    QObject::connect(apply, &QPushButton::clicked, this, &ServerPanel::applyListenAddress);
    QObject::connect(filter, &QLineEdit::textChanged, m_logFilter,
                     &QSortFilterProxyModel::setFilterFixedString);
    QObject::connect(clear, &QPushButton::clicked, m_log, &RequestLogModel::clear);
    QObject::connect(&server.accessLog(), &AccessLog::recorded, this,
                     [this](const QList<AccessLogEntry> &entries) {
                         const bool atBottom = m_logView->verticalScrollBar()->value() ==
                                               m_logView->verticalScrollBar()->maximum();
                         m_log->append(entries);
                         m_chart->record(entries);
                         if (atBottom)
                             m_logView->scrollToBottom();
                     });
    QObject::connect(&server, &KvServer::runningChanged, this, &ServerPanel::updateState);
    m_databaseTimer.setInterval(2000);
    QObject::connect(&m_databaseTimer, &QTimer::timeout, this, &ServerPanel::updateDatabase);
    m_databaseTimer.start();
    updateState();
    updateDatabase();
}

void ServerPanel::setKeyCount(qint64 count)
{
    m_keys->setText(count < 0 ? tr("counting...") : DisplayFormat::formatKeyCount(count));
}

void ServerPanel::updateDatabase()
{
    m_database->setText(
        tr("%1 (%2, SQLite)")
            .arg(m_server.store().location(), DisplayFormat::formatSize(m_server.store().sizeOnDiskBytes())));
}

void ServerPanel::updateState()
{
    const bool running = m_server.isRunning();
    m_url->setText(running ? m_server.url() : QString());
    m_url->setPlaceholderText(tr("not listening"));
    m_state->setText(running ? tr("Running") : tr("Stopped"));
    m_state->setStyleSheet(running ? QStringLiteral("color: #2e7d32; font-weight: bold;")
                                   : QStringLiteral("color: #b00020; font-weight: bold;"));
    m_startStop->setText(running ? tr("Stop") : tr("Start"));
    m_startStop->setIcon(
        QIcon(running ? QStringLiteral(":/icons/stop.svg") : QStringLiteral(":/icons/start.svg")));
    const AuthSettings auth = m_server.authenticator().settings();
    QStringList ways;
    if (auth.apiKeyEnabled())
        ways << tr("API key %1…: send \"Authorization: Bearer <key>\" (the copy button copies it; Copy as "
                   "curl includes it)")
                    .arg(auth.apiKey.left(4));
    if (auth.basicEnabled())
        ways << tr("Basic: user \"%1\"").arg(auth.username);
    if (auth.jwtEnabled())
        ways << tr("JWT: send \"Authorization: Bearer <jwt>\"");
    m_auth->setText(ways.isEmpty() ? tr("No credentials are set: every kv and admin request is answered 401.")
                                   : ways.join(QLatin1Char('\n')));
}

void ServerPanel::toggleRunning()
{
    if (m_server.isRunning()) {
        m_server.stopListening();
        Q_EMIT statusMessage(tr("The server stopped listening."));
    } else {
        startListening();
    }
}

void ServerPanel::startListening()
{
    try {
        m_server.start();
        m_error->hide();
        Q_EMIT statusMessage(tr("Listening on %1").arg(m_server.url()));
    } catch (const std::exception &e) {
        showError(tr("The server cannot start: %1").arg(QString::fromUtf8(e.what())));
    }
    updateState();
}

void ServerPanel::showError(const QString &message)
{
    m_error->setText(message);
    m_error->show();
    Q_EMIT statusMessage(message);
}

void ServerPanel::applyListenAddress()
{
    m_server.stopListening();
    m_server.setListenAddress(m_host->text().trimmed(), quint16(m_port->value()));
    startListening();
}

void ServerPanel::copyUrl()
{
    if (!m_server.isRunning())
        return;
    QApplication::clipboard()->setText(m_server.url());
    Q_EMIT statusMessage(tr("Copied %1").arg(m_server.url()));
}

QString ServerPanel::curlAuthOptions() const
{
    const AuthSettings auth = m_server.authenticator().settings();
    if (auth.apiKeyEnabled())
        return QStringLiteral("-H ") + shellQuote(QStringLiteral("Authorization: Bearer ") + auth.apiKey);
    if (auth.basicEnabled())
        return QStringLiteral("-u ") + shellQuote(auth.username + QLatin1Char(':') + auth.password);
    if (auth.jwtEnabled())
        return QStringLiteral("-H 'Authorization: Bearer <jwt>'");
    return {};
}

} // namespace kvdesk

namespace kvdesk {

bool ServerPanel::ensureCredentials()
{
    if (m_server.authenticator().settings().anyEnabled())
        return false;
    AuthSettings settings;
    settings.apiKey = CredentialVault::generateApiKey();
    // At once, so that the first curl works; kept in the keychain as soon as it answers.
    applyCredentials(settings);
    keepCredentials(settings, tr("Generated an API key and kept it in the keychain."));
    return true;
}

void ServerPanel::applyCredentials(const AuthSettings &settings)
{
    m_server.authenticator().setSettings(settings);
    updateState();
}

void ServerPanel::keepCredentials(const AuthSettings &settings, const QString &doneMessage)
{
    if (!m_vault) {
        m_keychain->setText(tr("These credentials are kept for this session only (no keychain in use)."));
        m_keychain->show();
        return;
    }
    m_keychain->setText(tr("Saving to the keychain..."));
    m_keychain->show();
    m_vault->save(settings, this, [this, doneMessage](const SecretResult &r) {
        if (r.ok()) {
            m_keychain->hide();
            Q_EMIT statusMessage(doneMessage);
            return;
        }
        m_keychain->setText(
            tr("%1 The credentials work for this session only; they are not kept for the next start.")
                .arg(r.message));
        m_keychain->setStyleSheet(QStringLiteral("color: #8a5a00;"));
        Q_EMIT statusMessage(m_keychain->text());
    });
}

void ServerPanel::editCredentials()
{
    const QString note = m_vault
                             ? tr("Saved to the OS keychain and applied to the running server at once. "
                                  "Environment variables (KV_API_KEY, ...) win over these at the next start.")
                             : tr("No keychain is in use: these apply to this session only.");
    auto *dialog = new CredentialsDialog(m_server.authenticator().settings(), note, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    QObject::connect(dialog, &QDialog::accepted, this, [this, dialog] {
        const AuthSettings settings = dialog->settings();
        applyCredentials(settings);
        keepCredentials(settings, tr("Saved the credentials to the keychain; the server uses them now."));
    });
    dialog->open();
}

void ServerPanel::copyApiKey()
{
    const AuthSettings auth = m_server.authenticator().settings();
    if (!auth.apiKeyEnabled()) {
        Q_EMIT statusMessage(tr("No API key is set; open Credentials to generate one."));
        return;
    }
    QApplication::clipboard()->setText(auth.apiKey);
    Q_EMIT statusMessage(tr("Copied the API key"));
}

} // namespace kvdesk
