#include "http/apierror.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace kvdesk;

class TestApiError : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void envelopeIsWhatQJsonDocumentWrites_data()
    {
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("message");
        QTest::addColumn<bool>("withErrors");
        QTest::newRow("401") << 401 << u"Unauthorized"_s << false;
        QTest::newRow("quotes and backslashes") << 400 << uR"(a "b" \c\)"_s << false;
        QTest::newRow("controls") << 400 << u"\b\f\n\r\t\x01\x1f\x7f end"_s << false;
        QTest::newRow("non-ASCII") << 404 << u"Clé introuvable — 键 🔑"_s << false;
        QTest::newRow("empty") << 500 << QString() << false;
        QTest::newRow("validation") << 400 << u"Bad Request"_s << true;
    }
    void envelopeIsWhatQJsonDocumentWrites()
    {
        QFETCH(int, status);
        QFETCH(QString, message);
        QFETCH(bool, withErrors);
        ApiError error = withErrors
                             ? ApiError::validation(u"body"_s, QJsonArray{u"value"_s, 2}, u"say \"why\""_s)
                             : ApiError(status, message);
        const Reply reply = error.toReply();

        QJsonObject expected{{u"status"_s, error.status()},
                             {u"success"_s, false},
                             {u"data"_s, QJsonValue::Null},
                             {u"error"_s, error.message()}};
        if (withErrors)
            expected.insert(u"errors"_s, QJsonArray{QJsonObject{{u"location"_s, u"body"_s},
                                                                {u"path"_s, QJsonArray{u"value"_s, 2}},
                                                                {u"message"_s, u"say \"why\""_s}}});
        QCOMPARE(reply.status, error.status());
        QCOMPARE(reply.body, QJsonDocument(expected).toJson(QJsonDocument::Compact));
        QJsonParseError parseError;
        QVERIFY(QJsonDocument::fromJson(reply.body, &parseError).isObject());
        QCOMPARE(QJsonDocument::fromJson(reply.body).object().value(u"error").toString(), error.message());
    }

    void hintAndHeadersGoWithTheAnswer()
    {
        const Reply reply = ApiError::unauthorized().header("WWW-Authenticate", "Bearer").toReply();
        QCOMPARE(reply.status, 401);
        bool challenge = false, hint = false;
        for (const auto &[name, value] : reply.headers) {
            challenge = challenge || (name == "WWW-Authenticate" && value == "Bearer");
            hint = hint || (name == "X-Workertown-Hint" && !value.isEmpty());
        }
        QVERIFY(challenge);
        QVERIFY(hint);
    }
};

QTEST_GUILESS_MAIN(TestApiError)
#include "tst_apierror.moc"
