#include "jwtsigner.h"
#include "testserver.h"

#include "auth/authenticator.h"
#include "auth/crypto.h"

#include <QJsonArray>

#include <QDateTime>
#include <QElapsedTimer>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace kvdesk;
using namespace kvdesk::test;

namespace {

QJsonObject claims(qint64 nowMs, qint64 expiresIn = 3600)
{
    return QJsonObject{{u"sub"_s, u"tester"_s},
                       {u"exp"_s, double(nowMs / 1000 + expiresIn)},
                       {u"iat"_s, double(nowMs / 1000)}};
}

QByteArray basicHeader(const QByteArray &pair)
{
    return "Basic " + pair.toBase64();
}

} // namespace

class TestAuth : public QObject
{
    Q_OBJECT

private:
    int statusWith(TestServer &server, const QByteArray &authorization, const QByteArray &path = "/v1/kv/k")
    {
        HttpClient client(server.port());
        QList<QPair<QByteArray, QByteArray>> headers;
        if (!authorization.isNull())
            headers.append({"Authorization", authorization});
        return client.request("GET", path, {}, headers).status;
    }

private Q_SLOTS:
    void constantTimeEqualsCompares()
    {
        QVERIFY(crypto::constantTimeEquals("abc", "abc"));
        QVERIFY(!crypto::constantTimeEquals("abc", "abd"));
        QVERIFY(!crypto::constantTimeEquals("abc", "abcd"));
        QVERIFY(!crypto::constantTimeEquals("", "a"));
    }

    void apiKey_data()
    {
        QTest::addColumn<QByteArray>("authorization");
        QTest::addColumn<int>("status");
        QTest::newRow("right key") << QByteArray("Bearer k3y-value") << 404;
        QTest::newRow("scheme is case-insensitive") << QByteArray("bearer k3y-value") << 404;
        QTest::newRow("wrong key") << QByteArray("Bearer k3y-valuf") << 401;
        QTest::newRow("prefix of key") << QByteArray("Bearer k3y") << 401;
        QTest::newRow("no header") << QByteArray() << 401;
        QTest::newRow("empty bearer") << QByteArray("Bearer ") << 401;
        QTest::newRow("key as basic") << basicHeader("k3y-value:") << 401;
        QTest::newRow("other scheme") << QByteArray("Token k3y-value") << 401;
    }
    void apiKey()
    {
        QFETCH(QByteArray, authorization);
        QFETCH(int, status);
        TestServer server([](Config &c) { c.auth.apiKey = u"k3y-value"_s; });
        QCOMPARE(statusWith(server, authorization), status);
    }

    void unauthorizedCarriesChallengeAndEnvelope()
    {
        TestServer server([](Config &c) {
            c.auth.username = u"u"_s;
            c.auth.password = u"p"_s;
        });
        HttpClient client(server.port());
        const HttpResponse r = client.request("GET", "/v1/admin/info");
        QCOMPARE(r.status, 401);
        QCOMPARE(r.json().value(u"error").toString(), u"Unauthorized"_s);
        QCOMPARE(r.json().value(u"status").toInt(), 401);
        QVERIFY(r.header("www-authenticate").contains("Basic realm="));
        QVERIFY(!r.header("x-workertown-hint").isEmpty());
    }

    void basic_data()
    {
        QTest::addColumn<QByteArray>("authorization");
        QTest::addColumn<int>("status");
        QTest::newRow("right pair") << basicHeader("admin:s3cret:with:colons") << 404;
        QTest::newRow("wrong password") << basicHeader("admin:s3cret") << 401;
        QTest::newRow("wrong user") << basicHeader("Admin:s3cret:with:colons") << 401;
        QTest::newRow("no colon") << basicHeader("admins3cret:with:colons") << 401;
        QTest::newRow("not base64") << QByteArray("Basic !!!") << 401;
        QTest::newRow("empty") << QByteArray("Basic ") << 401;
        QTest::newRow("unicode pair") << basicHeader("admin:s3cret:with:colons") << 404;
    }
    void basic()
    {
        QFETCH(QByteArray, authorization);
        QFETCH(int, status);
        TestServer server([](Config &c) {
            c.auth.apiKey.clear();
            c.auth.username = u"admin"_s;
            c.auth.password = u"s3cret:with:colons"_s;
        });
        QCOMPARE(statusWith(server, authorization), status);
    }

    void hmacJwt_data()
    {
        QTest::addColumn<QByteArray>("alg");
        QTest::addColumn<QByteArray>("secret");
        QTest::addColumn<int>("expiresIn");
        QTest::addColumn<QJsonObject>("extra");
        QTest::addColumn<int>("status");
        QTest::newRow("HS256") << QByteArray("HS256") << QByteArray("jwt-secret") << 3600 << QJsonObject()
                               << 404;
        QTest::newRow("HS384") << QByteArray("HS384") << QByteArray("jwt-secret") << 3600 << QJsonObject()
                               << 404;
        QTest::newRow("HS512") << QByteArray("HS512") << QByteArray("jwt-secret") << 3600 << QJsonObject()
                               << 404;
        QTest::newRow("wrong secret")
            << QByteArray("HS256") << QByteArray("other") << 3600 << QJsonObject() << 401;
        QTest::newRow("expired") << QByteArray("HS256") << QByteArray("jwt-secret") << -10 << QJsonObject()
                                 << 401;
        QTest::newRow("not yet valid")
            << QByteArray("HS256") << QByteArray("jwt-secret") << 3600
            << QJsonObject{{u"nbf"_s, double(QDateTime::currentSecsSinceEpoch() + 600)}} << 401;
        QTest::newRow("nbf in the past")
            << QByteArray("HS256") << QByteArray("jwt-secret") << 3600
            << QJsonObject{{u"nbf"_s, double(QDateTime::currentSecsSinceEpoch() - 600)}} << 404;
        QTest::newRow("audience in array") << QByteArray("HS256") << QByteArray("jwt-secret") << 3600
                                           << QJsonObject{{u"aud"_s, QJsonArray{u"x"_s, u"kv-api"_s}}} << 404;
        QTest::newRow("wrong audience") << QByteArray("HS256") << QByteArray("jwt-secret") << 3600
                                        << QJsonObject{{u"aud"_s, u"other-api"_s}} << 401;
    }
    void hmacJwt()
    {
        QFETCH(QByteArray, alg);
        QFETCH(QByteArray, secret);
        QFETCH(int, expiresIn);
        QFETCH(QJsonObject, extra);
        QFETCH(int, status);
        TestServer server([](Config &c) {
            c.auth.apiKey.clear();
            c.auth.jwtSecret = u"jwt-secret"_s;
            c.auth.jwtAudience = u"kv-api"_s;
        });
        QJsonObject payload = claims(QDateTime::currentMSecsSinceEpoch(), expiresIn);
        payload.insert(u"aud"_s, u"kv-api"_s);
        for (auto it = extra.begin(); it != extra.end(); ++it)
            payload.insert(it.key(), it.value());
        QCOMPARE(statusWith(server, "Bearer " + JwtSigner::signHmac(alg, secret, payload)), status);
    }

    void issuerIsCheckedWhenConfigured()
    {
        TestServer server([](Config &c) {
            c.auth.jwtSecret = u"s"_s;
            c.auth.jwtIssuer = u"https://issuer.example"_s;
        });
        QJsonObject payload = claims(QDateTime::currentMSecsSinceEpoch());
        QCOMPARE(statusWith(server, "Bearer " + JwtSigner::signHmac("HS256", "s", payload)), 401);
        payload.insert(u"iss"_s, u"https://issuer.example"_s);
        QCOMPARE(statusWith(server, "Bearer " + JwtSigner::signHmac("HS256", "s", payload)), 404);
    }

    void refusesNoneMissingExpAndMalformedTokens()
    {
        TestServer server([](Config &c) { c.auth.jwtSecret = u"s"_s; });
        const QJsonObject payload = claims(QDateTime::currentMSecsSinceEpoch());
        QCOMPARE(statusWith(server, "Bearer " + JwtSigner::compact({{u"alg"_s, u"none"_s}}, payload, {})),
                 401);
        QCOMPARE(statusWith(server, "Bearer " + JwtSigner::compact({{u"alg"_s, u"NONE"_s}}, payload, {})),
                 401);
        QCOMPARE(statusWith(server,
                            "Bearer " + JwtSigner::signHmac("HS256", "s", QJsonObject{{u"sub"_s, u"x"_s}})),
                 401);
        QCOMPARE(statusWith(server, "Bearer a.b.c"), 401);
        QCOMPARE(statusWith(server, "Bearer " + JwtSigner::signHmac("HS256", "s", payload) + "x"), 401);
        QCOMPARE(statusWith(server, "Bearer " + JwtSigner::signHmac("HS256", "s", payload,
                                                                    {{u"crit"_s, QJsonArray{u"x"_s}}})),
                 401);
    }

    void jwksKeysVerifyRsaAndEcTokens()
    {
        JwtSigner rsa(JwtSigner::KeyType::Rsa2048, "rsa-1");
        JwtSigner p256(JwtSigner::KeyType::P256, "ec-256");
        JwtSigner p384(JwtSigner::KeyType::P384, "ec-384");
        JwksServer jwks;
        jwks.setKeys({rsa.jwk(), p256.jwk(), p384.jwk()});
        TestServer server([&](Config &c) {
            c.auth.apiKey.clear();
            c.auth.jwksUrl = QString::fromLatin1(jwks.url());
        });
        const QJsonObject payload = claims(QDateTime::currentMSecsSinceEpoch());
        for (const QByteArray alg : {"RS256", "RS384", "RS512"})
            QCOMPARE(statusWith(server, "Bearer " + rsa.sign(alg, payload)), 404);
        QCOMPARE(statusWith(server, "Bearer " + p256.sign("ES256", payload)), 404);
        QCOMPARE(statusWith(server, "Bearer " + p384.sign("ES384", payload)), 404);
        // A key used with the wrong algorithm, or another key's id, fails.
        QCOMPARE(statusWith(server, "Bearer " + p256.sign("ES384", payload)), 401);
        QCOMPARE(statusWith(server, "Bearer " + rsa.sign("RS256", payload, "ec-256")), 401);
        QCOMPARE(statusWith(server,
                            "Bearer " + rsa.sign("RS256", claims(QDateTime::currentMSecsSinceEpoch(), -5))),
                 401);
        QCOMPARE(jwks.fetches(), 1);
    }

    void hmacTokensAreNeverCheckedAgainstJwksKeys()
    {
        JwtSigner rsa(JwtSigner::KeyType::Rsa2048, "rsa-1");
        JwksServer jwks;
        jwks.setKeys({rsa.jwk()});
        TestServer server([&](Config &c) {
            c.auth.apiKey.clear();
            c.auth.jwksUrl = QString::fromLatin1(jwks.url());
        });
        const QJsonObject payload = claims(QDateTime::currentMSecsSinceEpoch());
        // The classic confusion: HS256 "signed" with the public key material as the secret.
        const QByteArray publicMaterial = rsa.jwk().value(u"n"_s).toString().toLatin1();
        const auto decoded = crypto::base64UrlDecode(publicMaterial);
        QVERIFY(decoded);
        QCOMPARE(statusWith(server, "Bearer " + JwtSigner::signHmac("HS256", *decoded, payload,
                                                                    {{u"kid"_s, u"rsa-1"_s}})),
                 401);
        QCOMPARE(statusWith(server, "Bearer " + JwtSigner::signHmac("HS256", publicMaterial, payload,
                                                                    {{u"kid"_s, u"rsa-1"_s}})),
                 401);
        QCOMPARE(statusWith(server, "Bearer " + rsa.sign("RS256", payload)), 404);
    }

    void unknownKidRefetchesAtMostOncePerMinute()
    {
        JwtSigner first(JwtSigner::KeyType::P256, "first");
        JwtSigner second(JwtSigner::KeyType::P256, "second");
        JwksServer jwks;
        jwks.setKeys({first.jwk()});
        TestServer server([&](Config &c) {
            c.auth.apiKey.clear();
            c.auth.jwksUrl = QString::fromLatin1(jwks.url());
        });
        const QJsonObject payload = claims(QDateTime::currentMSecsSinceEpoch(), 24 * 3600);
        QCOMPARE(statusWith(server, "Bearer " + first.sign("ES256", payload)), 404);
        QTRY_COMPARE(jwks.fetches(), 1);

        // The key set rotates; within the minute the new kid is refused without a fetch.
        jwks.setKeys({first.jwk(), second.jwk()});
        QCOMPARE(statusWith(server, "Bearer " + second.sign("ES256", payload)), 401);
        QCOMPARE(jwks.fetches(), 1);

        // After a minute, an unknown kid fetches the set again once, and the token passes.
        server.clock().advance(61 * 1000);
        QCOMPARE(statusWith(server, "Bearer " + second.sign("ES256", payload)), 404);
        QCOMPARE(jwks.fetches(), 2);
        QCOMPARE(statusWith(server, "Bearer " + first.sign("ES256", payload, "third")), 401);
        QCOMPARE(jwks.fetches(), 2);
    }

    void clientLeavingDuringAKeyFetchIsHarmless()
    {
        JwtSigner key(JwtSigner::KeyType::P256, "slow");
        JwksServer jwks;
        jwks.setKeys({key.jwk()});
        jwks.setDelayMs(300);
        TestServer server([&](Config &c) { c.auth.jwksUrl = QString::fromLatin1(jwks.url()); });
        const QJsonObject payload = claims(QDateTime::currentMSecsSinceEpoch());
        {
            // The answer waits for the JWKS; the client is gone before it is ready.
            HttpClient leaving(server.port());
            leaving.sendRaw("GET /v1/kv/k HTTP/1.1\r\nAuthorization: Bearer " + key.sign("ES256", payload) +
                            "\r\n\r\n");
            QTest::qWait(50);
            leaving.socket().abort();
        }
        QTest::qWait(400);
        // Meanwhile and afterwards, pipelined requests on one connection keep their order.
        HttpClient client(server.port());
        client.sendRaw("GET /v1/kv/k HTTP/1.1\r\nAuthorization: Bearer " + key.sign("ES256", payload) +
                       "\r\n\r\nGET /health HTTP/1.1\r\n\r\n");
        QCOMPARE(client.readResponse()->status, 404);
        QCOMPARE(client.readResponse()->status, 200);
    }

    void stoppingLetsAnAnswerWaitingForKeysFinish()
    {
        JwtSigner key(JwtSigner::KeyType::P256, "late");
        JwksServer jwks;
        jwks.setKeys({key.jwk()});
        jwks.setDelayMs(400);
        TestServer server([&](Config &c) { c.auth.jwksUrl = QString::fromLatin1(jwks.url()); });
        HttpClient client(server.port());
        client.sendRaw("GET /v1/kv/k HTTP/1.1\r\nAuthorization: Bearer " +
                       key.sign("ES256", claims(QDateTime::currentMSecsSinceEpoch())) + "\r\n\r\n");
        QTest::qWait(50); // the request now waits for the key set
        QElapsedTimer stopping;
        stopping.start();
        server.server().stop(5000);
        QVERIFY(stopping.elapsed() < 3000);
        const auto r = client.readResponse(1000);
        QVERIFY(r);
        QCOMPARE(r->status, 404);
        QVERIFY(client.waitForClose(1000));
    }

    void answersWaitingForKeysStayInPipelineOrder()
    {
        JwtSigner key(JwtSigner::KeyType::P256, "k");
        JwksServer jwks;
        jwks.setKeys({key.jwk()});
        jwks.setDelayMs(200);
        TestServer server([&](Config &c) { c.auth.jwksUrl = QString::fromLatin1(jwks.url()); });
        HttpClient client(server.port());
        client.sendRaw("GET /v1/kv/a HTTP/1.1\r\nAuthorization: Bearer " +
                       key.sign("ES256", claims(QDateTime::currentMSecsSinceEpoch())) +
                       "\r\n\r\nGET /health HTTP/1.1\r\n\r\nGET /v1/kv/b HTTP/1.1\r\nAuthorization: Bearer "
                       "wrong\r\n\r\n");
        QCOMPARE(client.readResponse()->status, 404);
        QCOMPARE(client.readResponse()->status, 200);
        QCOMPARE(client.readResponse()->status, 401);
    }

    void withoutCredentialsEveryKvAndAdminRequestIs401()
    {
        TestServer server([](Config &c) { c.auth = {}; });
        QCOMPARE(statusWith(server, {}, "/v1/kv/a"), 401);
        QCOMPARE(statusWith(server, "Bearer anything", "/v1/kv/a"), 401);
        QCOMPARE(statusWith(server, basicHeader("a:b"), "/v1/admin/info"), 401);
        QCOMPARE(statusWith(server, {}, "/health"), 200);
    }

    void severalStrategiesAtOnce()
    {
        TestServer server([](Config &c) {
            c.auth.apiKey = u"key"_s;
            c.auth.username = u"u"_s;
            c.auth.password = u"p"_s;
            c.auth.jwtSecret = u"s"_s;
        });
        QCOMPARE(statusWith(server, "Bearer key"), 404);
        QCOMPARE(statusWith(server, basicHeader("u:p")), 404);
        QCOMPARE(
            statusWith(server, "Bearer " + JwtSigner::signHmac("HS256", "s",
                                                               claims(QDateTime::currentMSecsSinceEpoch()))),
            404);
        QCOMPARE(statusWith(server, "Bearer s"), 401);
    }

    void settingsChangeWhileRunning()
    {
        TestServer server([](Config &c) { c.auth.apiKey = u"old"_s; });
        QCOMPARE(statusWith(server, "Bearer old"), 404);
        AuthSettings next;
        next.apiKey = u"new"_s;
        server.server().authenticator().setSettings(next);
        QCOMPARE(statusWith(server, "Bearer old"), 401);
        QCOMPARE(statusWith(server, "Bearer new"), 404);
    }

    // A connection remembers the credentials it was let in with (so that they are not hashed
    // again); nothing else may pass because of that.
    void aConnectionsRememberedCredentialsLetNothingElseIn()
    {
        TestServer server([](Config &c) {
            c.auth.apiKey = u"the-key"_s;
            c.auth.username = u"user"_s;
            c.auth.password = u"pass"_s;
        });
        HttpClient client(server.port());
        const auto status = [&client](const QByteArray &authorization) {
            return client.request("GET", "/v1/kv/k", {}, {{"Authorization", authorization}}).status;
        };
        QCOMPARE(status("Bearer the-key"), 404);
        QCOMPARE(status("Bearer the-key"), 404);
        QCOMPARE(status("Bearer the-kez"), 401);
        QCOMPARE(status("Bearer the-key "), 404); // the same token, read the same way
        QCOMPARE(status("Bearer the-ke"), 401);
        QCOMPARE(status("Bearer the-key"), 404);
        QCOMPARE(status(basicHeader("user:pass")), 404);
        QCOMPARE(status(basicHeader("user:pasz")), 401);
        QCOMPARE(client.request("GET", "/v1/kv/k").status, 401); // no header at all
        QVERIFY(client.isConnected()); // all of it on one connection

        // A change of settings forgets what every connection remembered.
        QCOMPARE(status("Bearer the-key"), 404);
        AuthSettings next;
        next.apiKey = u"new-key"_s;
        server.server().authenticator().setSettings(next);
        QCOMPARE(status("Bearer the-key"), 401);
        QCOMPARE(status(basicHeader("user:pass")), 401);
        QCOMPARE(status("Bearer new-key"), 404);
        QVERIFY(client.isConnected());
    }

    void aJwtIsCheckedAgainOnEveryRequest()
    {
        TestServer server([](Config &c) {
            c.auth.apiKey.clear();
            c.auth.jwtSecret = u"jwt-secret"_s;
        });
        // Expires in 30 s of the server's clock; the connection must not remember it past that.
        const QByteArray token =
            "Bearer " + JwtSigner::signHmac("HS256", "jwt-secret", claims(server.clock().nowMs(), 30));
        HttpClient client(server.port());
        QCOMPARE(client.request("GET", "/v1/kv/k", {}, {{"Authorization", token}}).status, 404);
        server.clock().advance(31 * 1000);
        QCOMPARE(client.request("GET", "/v1/kv/k", {}, {{"Authorization", token}}).status, 401);
    }
};

QTEST_GUILESS_MAIN(TestAuth)
#include "tst_auth.moc"
