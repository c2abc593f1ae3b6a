<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de">
<context>
    <name>QObject</name>
    <message>
        <location filename="../server/credentials/keychainstore.cpp" line="+27"/>
        <source>The keychain holds no KV Desk credentials.</source>
        <translation>Der Schlüsselbund enthält keine Zugangsdaten von KV Desk.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>No keychain is available on this system (%1).</source>
        <translation>Auf diesem System ist kein Schlüsselbund verfügbar (%1).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The keychain refused access (%1). Is it locked?</source>
        <translation>Der Schlüsselbund hat den Zugriff verweigert (%1). Ist er gesperrt?</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>No keychain is available (no Secret Service: %1).</source>
        <translation>Kein Schlüsselbund verfügbar (kein Secret Service: %1).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The keychain failed: %1</source>
        <translation>Der Schlüsselbund meldet einen Fehler: %1</translation>
    </message>
    <message>
        <location line="+38"/>
        <source>The keychain did not answer within %1 s (is it locked, waiting for a password prompt?).</source>
        <translation>Der Schlüsselbund hat nicht innerhalb von %1 s geantwortet (ist er gesperrt oder wartet er auf eine Passworteingabe?).</translation>
    </message>
</context>
<context>
    <name>kvdesk::ApiError</name>
    <message>
        <location filename="../server/http/apierror.cpp" line="+41"/>
        <source>Bad Request</source>
        <translation>Ungültige Anfrage</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Not found</source>
        <translation>Nicht gefunden</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Unauthorized</source>
        <translation>Nicht autorisiert</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Method not allowed</source>
        <translation>Methode nicht erlaubt</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Internal server error</source>
        <translation>Interner Serverfehler</translation>
    </message>
</context>
<context>
    <name>kvdesk::ConfigLoader</name>
    <message>
        <location filename="../server/config/configloader.cpp" line="+44"/>
        <source>config file %1: unknown key &quot;%2&quot;</source>
        <translation>Konfigurationsdatei %1: unbekannter Schlüssel „%2“</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>config file %1: %2 must be an object</source>
        <translation>Konfigurationsdatei %1: %2 muss ein Objekt sein</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>config file %1: %2 must be a non-empty string</source>
        <translation>Konfigurationsdatei %1: %2 muss eine nicht leere Zeichenkette sein</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>config file %1: %2 must be a number from %3 to %4</source>
        <translation>Konfigurationsdatei %1: %2 muss eine Zahl von %3 bis %4 sein</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>config file %1: %2 must be true or false</source>
        <translation>Konfigurationsdatei %1: %2 muss true oder false sein</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>cannot read the config file %1: %2</source>
        <translation>Die Konfigurationsdatei %1 kann nicht gelesen werden: %2</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>config file %1 is not valid JSON: %2 (at byte %3)</source>
        <translation>Die Konfigurationsdatei %1 ist kein gültiges JSON: %2 (bei Byte %3)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>config file %1 must hold a JSON object</source>
        <translation>Die Konfigurationsdatei %1 muss ein JSON-Objekt enthalten</translation>
    </message>
    <message>
        <location line="+43"/>
        <source>config file %1: basePath cannot be switched off</source>
        <translation>Konfigurationsdatei %1: basePath kann nicht abgeschaltet werden</translation>
    </message>
    <message>
        <location line="+50"/>
        <source>--%1 must be a number of seconds from 0.01 to 86400, not &quot;%2&quot;</source>
        <translation>--%1 muss eine Anzahl Sekunden von 0,01 bis 86400 sein, nicht „%2“</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>--%1 must be a whole number from %2 to %3, not &quot;%4&quot;</source>
        <translation>--%1 muss eine ganze Zahl von %2 bis %3 sein, nicht „%4“</translation>
    </message>
    <message>
        <location line="+36"/>
        <source>the database URL %1 names no file</source>
        <translation>Die Datenbank-URL %1 nennt keine Datei</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>unsupported database URL %1 (use a file path or sqlite:///path)</source>
        <translation>Nicht unterstützte Datenbank-URL %1 (verwenden Sie einen Dateipfad oder sqlite:///pfad)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>the database must be a file (an in-memory database cannot be shared between threads)</source>
        <translation>Die Datenbank muss eine Datei sein (eine In-Memory-Datenbank kann nicht zwischen Threads geteilt werden)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>%1 must be a path starting with &quot;/&quot; (or false), not &quot;%2&quot;</source>
        <translation>%1 muss ein Pfad sein, der mit „/“ beginnt (oder false), nicht „%2“</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>KV Desk: a JSON key/value store with a REST API compatible with @workertown/kv.</source>
        <translation>KV Desk: ein JSON-Schlüssel-Wert-Speicher mit einer zu @workertown/kv kompatiblen REST-API.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Run only the server, without a window.</source>
        <translation>Nur den Server ausführen, ohne Fenster.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Do not read credentials from the OS keychain (environment and config file only).</source>
        <translation>Keine Zugangsdaten aus dem Schlüsselbund des Systems lesen (nur Umgebung und Konfigurationsdatei).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Language of the window and the messages, such as de, fr or es (default: the system&apos;s).</source>
        <translation>Sprache des Fensters und der Meldungen, etwa de, fr oder es (Standard: die des Systems).</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>code</source>
        <translation>code</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Address to listen on (default 127.0.0.1).</source>
        <translation>Adresse, auf der gelauscht wird (Standard 127.0.0.1).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>address</source>
        <translation>adresse</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Port to listen on (default 8787; 0 picks a free one).</source>
        <translation>Port, auf dem gelauscht wird (Standard 8787; 0 wählt einen freien).</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>port</source>
        <translation>port</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>The database: an SQLite file path, sqlite:///path, or postgres://user:password@host:port/database (default: kv.sqlite in the application-data folder). Overrides KV_DB.</source>
        <translation>Die Datenbank: ein SQLite-Dateipfad, sqlite:///pfad oder postgres://benutzer:passwort@host:port/datenbank (Standard: kv.sqlite im Datenordner der Anwendung). Hat Vorrang vor KV_DB.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>path-or-url</source>
        <translation>pfad-oder-url</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A JSON config file shaped like the original&apos;s options object.</source>
        <translation>Eine JSON-Konfigurationsdatei in der Form des Optionsobjekts des Originals.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>file</source>
        <translation>datei</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Base path of every endpoint (default /).</source>
        <translation>Basispfad aller Endpunkte (Standard /).</translation>
    </message>
    <message>
        <location line="+1"/>
        <location line="+3"/>
        <location line="+4"/>
        <location line="+3"/>
        <source>path</source>
        <translation>pfad</translation>
    </message>
    <message>
        <location line="-8"/>
        <source>Prefix of the kv endpoints (default /v1/kv; false switches them off).</source>
        <translation>Präfix der kv-Endpunkte (Standard /v1/kv; false schaltet sie ab).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Prefix of the admin endpoints (default /v1/admin; false switches them off).</source>
        <translation>Präfix der Admin-Endpunkte (Standard /v1/admin; false schaltet sie ab).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Prefix of the public endpoints (default /; false switches them off).</source>
        <translation>Präfix der öffentlichen Endpunkte (Standard /; false schaltet sie ab).</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Number of server threads (default: one per core).</source>
        <translation>Anzahl der Server-Threads (Standard: einer pro Kern).</translation>
    </message>
    <message>
        <location line="+0"/>
        <location line="+7"/>
        <source>n</source>
        <translation>n</translation>
    </message>
    <message>
        <location line="-4"/>
        <source>Seconds a client has to send a whole request, and that an idle connection stays open (default 30).</source>
        <translation>Sekunden, die ein Client für eine ganze Anfrage hat und die eine untätige Verbindung offen bleibt (Standard 30).</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+9"/>
        <source>seconds</source>
        <translation>sekunden</translation>
    </message>
    <message>
        <location line="-7"/>
        <source>Most open connections at once (default 1024).</source>
        <translation>Höchstzahl gleichzeitig offener Verbindungen (Standard 1024).</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Bound of the in-memory read cache in MiB (default 256; 0 switches it off).</source>
        <translation>Obergrenze des Lese-Caches im Speicher in MiB (Standard 256; 0 schaltet ihn ab).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>mib</source>
        <translation>mib</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Seconds between removals of expired keys&apos; rows (default 60).</source>
        <translation>Sekunden zwischen dem Entfernen der Zeilen abgelaufener Schlüssel (Standard 60).</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>
Environment:
  KV_DB                         The database (as --db).
  KV_API_KEY                    API key, sent as &quot;Authorization: Bearer &lt;key&gt;&quot;.
  KV_USERNAME, KV_PASSWORD      Basic authentication.
  KV_JWT_SECRET                 HMAC secret of JWTs (HS256/384/512).
  KV_JWKS_URL                   JWKS of JWT public keys (RS256/384/512, ES256/384).
  KV_JWT_ISSUER, KV_JWT_AUDIENCE  Required iss and aud of JWTs.
The config file may rename these variables. They win over the credentials kept in
the OS keychain (see: kvdesk credentials --help).

Commands:
  kvdesk credentials show|set|rotate|clear   The credentials kept in the OS keychain.
  kvdesk export [--prefix P] [--format ndjson|wrangler|json] [FILE]
  kvdesk import [--dry-run] [--on-conflict skip|overwrite] FILE
</source>
        <translation>
Umgebung:
  KV_DB                         Die Datenbank (wie --db).
  KV_API_KEY                    API-Schlüssel, gesendet als &quot;Authorization: Bearer &lt;key&gt;&quot;.
  KV_USERNAME, KV_PASSWORD      Basic-Authentifizierung.
  KV_JWT_SECRET                 HMAC-Geheimnis der JWTs (HS256/384/512).
  KV_JWKS_URL                   JWKS mit den öffentlichen Schlüsseln der JWTs (RS256/384/512, ES256/384).
  KV_JWT_ISSUER, KV_JWT_AUDIENCE  Geforderte iss und aud der JWTs.
Die Konfigurationsdatei kann diese Variablen umbenennen. Sie haben Vorrang vor den Zugangsdaten
im Schlüsselbund des Systems (siehe: kvdesk credentials --help).

Befehle:
  kvdesk credentials show|set|rotate|clear   Die Zugangsdaten im Schlüsselbund des Systems.
  kvdesk export [--prefix P] [--format ndjson|wrangler|json] [DATEI]
  kvdesk import [--dry-run] [--on-conflict skip|overwrite] DATEI
</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>unexpected argument &quot;%1&quot;</source>
        <translation>unerwartetes Argument „%1“</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>%1 must be an http(s) URL, not &quot;%2&quot;</source>
        <translation>%1 muss eine http(s)-URL sein, nicht „%2“</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>--base-path cannot be switched off</source>
        <translation>--base-path kann nicht abgeschaltet werden</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>--host must be an IP address, not &quot;%1&quot;</source>
        <translation>--host muss eine IP-Adresse sein, nicht „%1“</translation>
    </message>
</context>
<context>
    <name>kvdesk::ConflictDialog</name>
    <message>
        <location filename="../ui/conflictdialog.cpp" line="+19"/>
        <source>The value changed meanwhile</source>
        <translation>Der Wert wurde inzwischen geändert</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>“%1” was deleted since you opened it. Keep your version (creating the key again), or drop it?</source>
        <translation>„%1“ wurde gelöscht, seit Sie ihn geöffnet haben. Ihre Fassung behalten (der Schlüssel wird neu angelegt) oder verwerfen?</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>“%1” was changed by someone else since you opened it. Which version do you want to keep?</source>
        <translation>„%1“ wurde von jemand anderem geändert, seit Sie ihn geöffnet haben. Welche Fassung möchten Sie behalten?</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>Keep &amp;Mine</source>
        <translation>&amp;Meine behalten</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Drop Mine</source>
        <translation>Meine &amp;verwerfen</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Take Theirs</source>
        <translation>&amp;Ihre übernehmen</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Back to &amp;Editing</source>
        <translation>Zurück zum &amp;Bearbeiten</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Yours (not saved)</source>
        <translation>Ihre (nicht gespeichert)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Stored (deleted)</source>
        <translation>Gespeichert (gelöscht)</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Stored now</source>
        <translation>Jetzt gespeichert</translation>
    </message>
</context>
<context>
    <name>kvdesk::ConnectionGuard</name>
    <message>
        <location filename="../server/http/connectionguard.cpp" line="+77"/>
        <source>Too many open connections</source>
        <translation>Zu viele offene Verbindungen</translation>
    </message>
</context>
<context>
    <name>kvdesk::CredentialVault</name>
    <message>
        <location filename="../server/credentials/credentialvault.cpp" line="+69"/>
        <source>The credentials in the keychain are unreadable; save new ones.</source>
        <translation>Die Zugangsdaten im Schlüsselbund sind unlesbar; speichern Sie neue.</translation>
    </message>
</context>
<context>
    <name>kvdesk::CredentialsCommand</name>
    <message>
        <location filename="../server/commands/credentialscommand.cpp" line="+29"/>
        <source>api key</source>
        <translation>API-Schlüssel</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>basic (user &quot;%1&quot;)</source>
        <translation>Basic (Benutzer „%1“)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>jwt (HMAC secret)</source>
        <translation>JWT (HMAC-Geheimnis)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>jwt (JWKS %1)</source>
        <translation>JWT (JWKS %1)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>jwt issuer &quot;%1&quot;</source>
        <translation>JWT-Aussteller „%1“</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>jwt audience &quot;%1&quot;</source>
        <translation>JWT-Zielgruppe „%1“</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Strategies on: none
</source>
        <translation>Aktive Verfahren: keine
</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Strategies on: %1
</source>
        <translation>Aktive Verfahren: %1
</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The server&apos;s credentials, kept in the OS keychain (service &quot;kvdesk&quot;). Environment variables and flags of the server win over them.

  show     list the strategies that are on, and print the API key
  set      set the given credentials (an empty value switches one off; &quot;-&quot; reads it from standard input)
  rotate   generate a new API key, keep it and print it
  clear    remove every credential</source>
        <translation>Die Zugangsdaten des Servers, im Schlüsselbund des Systems abgelegt (Dienst &quot;kvdesk&quot;). Umgebungsvariablen und Optionen des Servers haben Vorrang.

  show     die aktiven Verfahren auflisten und den API-Schlüssel ausgeben
  set      die angegebenen Zugangsdaten setzen (ein leerer Wert schaltet eines ab; &quot;-&quot; liest ihn von der Standardeingabe)
  rotate   einen neuen API-Schlüssel erzeugen, ablegen und ausgeben
  clear    alle Zugangsdaten entfernen</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>show, set, rotate or clear</source>
        <translation>show, set, rotate oder clear</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>API key.</source>
        <translation>API-Schlüssel.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>key</source>
        <translation>schlüssel</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Basic user name.</source>
        <translation>Basic-Benutzername.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>name</source>
        <translation>name</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Basic password.</source>
        <translation>Basic-Passwort.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>password</source>
        <translation>passwort</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>HMAC secret of JWTs.</source>
        <translation>HMAC-Geheimnis der JWTs.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>secret</source>
        <translation>geheimnis</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>URL of a JWKS.</source>
        <translation>URL eines JWKS.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>url</source>
        <translation>url</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Required iss of JWTs.</source>
        <translation>Geforderter iss der JWTs.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>issuer</source>
        <translation>aussteller</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Required aud of JWTs.</source>
        <translation>Geforderter aud der JWTs.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>audience</source>
        <translation>zielgruppe</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>kvdesk credentials: say show, set, rotate or clear (see --help)
</source>
        <translation>kvdesk credentials: geben Sie show, set, rotate oder clear an (siehe --help)
</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>kvdesk credentials: %1
</source>
        <translation>kvdesk credentials: %1
</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Removed the credentials from the keychain.
</source>
        <translation>Die Zugangsdaten wurden aus dem Schlüsselbund entfernt.
</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>API key: %1
</source>
        <translation>API-Schlüssel: %1
</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>New API key (the old one stops working when the server reads it again): %1
</source>
        <translation>Neuer API-Schlüssel (der alte gilt nicht mehr, sobald der Server die Zugangsdaten neu liest): %1
</translation>
    </message>
    <message>
        <location line="+20"/>
        <source>kvdesk credentials: Basic needs both a user name and a password
</source>
        <translation>kvdesk credentials: Basic braucht einen Benutzernamen und ein Passwort
</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>kvdesk credentials: unknown action &quot;%1&quot; (show, set, rotate or clear)
</source>
        <translation>kvdesk credentials: unbekannte Aktion „%1“ (show, set, rotate oder clear)
</translation>
    </message>
</context>
<context>
    <name>kvdesk::CredentialsDialog</name>
    <message>
        <location filename="../ui/credentialsdialog.cpp" line="+24"/>
        <source>Server Credentials</source>
        <translation>Zugangsdaten des Servers</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>API key (&quot;Authorization: Bearer &lt;key&gt;&quot;)</source>
        <translation>API-Schlüssel (&quot;Authorization: Bearer &lt;key&gt;&quot;)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Rotate</source>
        <translation>&amp;Erneuern</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Generate</source>
        <translation>&amp;Erzeugen</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A new random key (32 bytes); the old one stops working once you save</source>
        <translation>Ein neuer zufälliger Schlüssel (32 Byte); der alte gilt nach dem Speichern nicht mehr</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Copy</source>
        <translation>Kopieren</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Basic (user name and password)</source>
        <translation>Basic (Benutzername und Passwort)</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>JWT (HMAC secret, or public keys from a JWKS)</source>
        <translation>JWT (HMAC-Geheimnis oder öffentliche Schlüssel aus einem JWKS)</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Key:</source>
        <translation>Schlüssel:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>User name:</source>
        <translation>Benutzername:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Password:</source>
        <translation>Passwort:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Secret:</source>
        <translation>Geheimnis:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>JWKS URL:</source>
        <translation>JWKS-URL:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Issuer (iss):</source>
        <translation>Aussteller (iss):</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Audience (aud):</source>
        <translation>Zielgruppe (aud):</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>An API key needs at least 16 characters (Generate makes a strong one).</source>
        <translation>Ein API-Schlüssel braucht mindestens 16 Zeichen (Erzeugen macht einen starken).</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Basic needs both a user name and a password.</source>
        <translation>Basic braucht einen Benutzernamen und ein Passwort.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A Basic user name cannot contain &apos;:&apos;.</source>
        <translation>Ein Basic-Benutzername darf kein „:“ enthalten.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>JWT needs a secret or a JWKS URL.</source>
        <translation>JWT braucht ein Geheimnis oder eine JWKS-URL.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>The JWKS URL must be an http(s) URL.</source>
        <translation>Die JWKS-URL muss eine http(s)-URL sein.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>With every strategy off, every kv and admin request is refused (401).</source>
        <translation>Sind alle Verfahren abgeschaltet, wird jede kv- und Admin-Anfrage abgewiesen (401).</translation>
    </message>
</context>
<context>
    <name>kvdesk::DatabaseDialog</name>
    <message>
        <location filename="../ui/databasedialog.cpp" line="+24"/>
        <source>Open PostgreSQL Database</source>
        <translation>PostgreSQL-Datenbank öffnen</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Prefer (encrypted when the server offers it)</source>
        <translation>Bevorzugen (verschlüsselt, wenn der Server es anbietet)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Require</source>
        <translation>Erzwingen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Disable</source>
        <translation>Abschalten</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keep the password in the OS keychain</source>
        <translation>Das Passwort im Schlüsselbund des Systems ablegen</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&amp;Host:</source>
        <translation>&amp;Host:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Port:</source>
        <translation>&amp;Port:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Database:</source>
        <translation>&amp;Datenbank:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;User:</source>
        <translation>&amp;Benutzer:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Pass&amp;word:</source>
        <translation>Pass&amp;wort:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Encryption:</source>
        <translation>&amp;Verschlüsselung:</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Open</source>
        <translation>Ö&amp;ffnen</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>KV Desk reopens on this database; several KV Desk servers can share it.</source>
        <translation>KV Desk öffnet sich neu mit dieser Datenbank; mehrere KV-Desk-Server können sie gemeinsam nutzen.</translation>
    </message>
    <message>
        <location line="+30"/>
        <source>Name the server&apos;s host.</source>
        <translation>Geben Sie den Host des Servers an.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Name the database.</source>
        <translation>Geben Sie die Datenbank an.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Name the user.</source>
        <translation>Geben Sie den Benutzer an.</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Saving the password to the keychain...</source>
        <translation>Das Passwort wird im Schlüsselbund gespeichert...</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Open again to use the password without keeping it.</source>
        <translation>Öffnen Sie erneut, um das Passwort zu verwenden, ohne es abzulegen.</translation>
    </message>
</context>
<context>
    <name>kvdesk::DisplayFormat</name>
    <message>
        <location filename="../ui/displayformat.cpp" line="+15"/>
        <source>1 key</source>
        <translation>1 Schlüssel</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 keys</source>
        <translation>%1 Schlüssel</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>expired</source>
        <translation>abgelaufen</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 min %2 s</source>
        <translation>%1 min %2 s</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>%1 d %2 h</source>
        <translation>%1 T %2 h</translation>
    </message>
</context>
<context>
    <name>kvdesk::Exporter</name>
    <message>
        <location filename="../server/transfer/exporter.cpp" line="+79"/>
        <source>cannot write: %1</source>
        <translation>Schreiben nicht möglich: %1</translation>
    </message>
</context>
<context>
    <name>kvdesk::Importer</name>
    <message>
        <location filename="../server/transfer/importer.cpp" line="+25"/>
        <source>%1 records: %2 created, %3 overwritten, %4 unchanged, %5 skipped, %6 expired, %7 invalid</source>
        <translation>%1 Datensätze: %2 angelegt, %3 überschrieben, %4 unverändert, %5 übersprungen, %6 abgelaufen, %7 ungültig</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>; first bad record at line %1: %2</source>
        <translation>; erster fehlerhafter Datensatz in Zeile %1: %2</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>; stopped: %1</source>
        <translation>; abgebrochen: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>; cancelled</source>
        <translation>; vom Benutzer abgebrochen</translation>
    </message>
    <message>
        <location line="+131"/>
        <source>line %1: %2</source>
        <translation>Zeile %1: %2</translation>
    </message>
</context>
<context>
    <name>kvdesk::JsonScanner</name>
    <message>
        <location filename="../server/util/jsonscanner.cpp" line="+60"/>
        <source>nested too deeply</source>
        <translation>zu tief verschachtelt</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>unexpected end of input</source>
        <translation>unerwartetes Ende der Eingabe</translation>
    </message>
    <message>
        <location line="+19"/>
        <location line="+77"/>
        <source>unexpected character</source>
        <translation>unerwartetes Zeichen</translation>
    </message>
    <message>
        <location line="-61"/>
        <source>expected a member name in double quotes</source>
        <translation>Mitgliedsname in doppelten Anführungszeichen erwartet</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>expected &apos;:&apos; after a member name</source>
        <translation>„:“ nach einem Mitgliedsnamen erwartet</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>expected &apos;,&apos; or &apos;}&apos; in an object</source>
        <translation>„,“ oder „}“ in einem Objekt erwartet</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>expected &apos;,&apos; or &apos;]&apos; in an array</source>
        <translation>„,“ oder „]“ in einem Array erwartet</translation>
    </message>
    <message>
        <location line="+19"/>
        <location line="+15"/>
        <source>malformed number</source>
        <translation>fehlerhafte Zahl</translation>
    </message>
    <message>
        <location line="+49"/>
        <location line="+4"/>
        <location line="+5"/>
        <location line="+7"/>
        <source>invalid UTF-8</source>
        <translation>ungültiges UTF-8</translation>
    </message>
    <message>
        <location line="+35"/>
        <location line="+32"/>
        <source>unterminated string</source>
        <translation>nicht abgeschlossene Zeichenkette</translation>
    </message>
    <message>
        <location line="-23"/>
        <source>control character in a string</source>
        <translation>Steuerzeichen in einer Zeichenkette</translation>
    </message>
    <message>
        <location line="+55"/>
        <location line="+7"/>
        <source>invalid \u escape</source>
        <translation>ungültige \u-Escape-Sequenz</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>invalid escape in a string</source>
        <translation>ungültige Escape-Sequenz in einer Zeichenkette</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>unexpected text after the JSON value</source>
        <translation>unerwarteter Text nach dem JSON-Wert</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>%1 at line %2, column %3</source>
        <translation>%1 in Zeile %2, Spalte %3</translation>
    </message>
</context>
<context>
    <name>kvdesk::JsonText</name>
    <message>
        <location filename="../ui/jsontext.cpp" line="+91"/>
        <source>number</source>
        <translation>Zahl</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>object</source>
        <translation>Objekt</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>array</source>
        <translation>Array</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>string</source>
        <translation>Zeichenkette</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>boolean</source>
        <translation>Wahrheitswert</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>null</source>
        <translation>null</translation>
    </message>
</context>
<context>
    <name>kvdesk::KeyActions</name>
    <message>
        <location filename="../ui/keyactions.cpp" line="+60"/>
        <source>&amp;New Key...</source>
        <translation>&amp;Neuer Schlüssel...</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Save Value</source>
        <translation>Wert &amp;speichern</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Re&amp;vert Value</source>
        <translation>Wert &amp;zurücksetzen</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Delete...</source>
        <translation>&amp;Löschen...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Set &amp;TTL...</source>
        <translation>&amp;TTL setzen...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>C&amp;lear TTL</source>
        <translation>TTL &amp;entfernen</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>E&amp;xpire Now</source>
        <translation>&amp;Jetzt ablaufen lassen</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>&amp;Rename...</source>
        <translation>&amp;Umbenennen...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>D&amp;uplicate...</source>
        <translation>&amp;Duplizieren...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Copy &amp;Key</source>
        <translation>Schlüssel &amp;kopieren</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Copy V&amp;alue</source>
        <translation>&amp;Wert kopieren</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Copy as &amp;curl</source>
        <translation>Als &amp;curl kopieren</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+56"/>
        <source>&amp;Undo</source>
        <translation>&amp;Rückgängig</translation>
    </message>
    <message>
        <location line="-54"/>
        <source>Re&amp;fresh</source>
        <translation>&amp;Aktualisieren</translation>
    </message>
    <message>
        <location line="+54"/>
        <source>&amp;Undo %1</source>
        <translation>&amp;Rückgängig: %1</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>KV Desk</source>
        <translation>KV Desk</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Cannot read the keys: %1</source>
        <translation>Die Schlüssel können nicht gelesen werden: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>That is %1 keys; the window changes at most %2 at once. Narrow the selection.</source>
        <translation>Das sind %1 Schlüssel; das Fenster ändert höchstens %2 auf einmal. Schränken Sie die Auswahl ein.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Those keys do not exist any more.</source>
        <translation>Diese Schlüssel gibt es nicht mehr.</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>The database refused the change: %1</source>
        <translation>Die Datenbank hat die Änderung abgelehnt: %1</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Created %1</source>
        <translation>%1 angelegt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>A key named %1 exists already.</source>
        <translation>Ein Schlüssel namens %1 existiert bereits.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>create %1</source>
        <translation>Anlegen von %1</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>The value is not valid JSON; fix it before saving.</source>
        <translation>Der Wert ist kein gültiges JSON; korrigieren Sie ihn vor dem Speichern.</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Cannot save %1: %2</source>
        <translation>%1 kann nicht gespeichert werden: %2</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>edit of %1</source>
        <translation>Bearbeitung von %1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Saved %1</source>
        <translation>%1 gespeichert</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Took the stored version of %1</source>
        <translation>Die gespeicherte Fassung von %1 übernommen</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Delete the key %1?</source>
        <translation>Den Schlüssel %1 löschen?</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Delete %1?</source>
        <translation>%1 löschen?</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>This includes everything in %1.</source>
        <translation>Das schließt alles in %1 ein.</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+3"/>
        <source>Delete</source>
        <translation>Löschen</translation>
    </message>
    <message>
        <location line="-1"/>
        <source>You can undo this with Edit &gt; Undo.</source>
        <translation>Sie können das mit Bearbeiten &gt; Rückgängig widerrufen.</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>Deleted %1</source>
        <translation>%1 gelöscht</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The keys changed meanwhile; nothing was deleted.</source>
        <translation>Die Schlüssel haben sich inzwischen geändert; nichts wurde gelöscht.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>delete of %1</source>
        <translation>Löschen von %1</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>Set TTL</source>
        <translation>TTL setzen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Expire after how many seconds?</source>
        <translation>Nach wie vielen Sekunden ablaufen?</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Expired %1</source>
        <translation>%1 abgelaufen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 now expires in %2</source>
        <translation>%1 läuft jetzt in %2 ab</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 never expires now</source>
        <translation>%1 läuft jetzt nie ab</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The keys changed meanwhile; nothing was changed. Try again.</source>
        <translation>Die Schlüssel haben sich inzwischen geändert; nichts wurde geändert. Versuchen Sie es noch einmal.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>expiry of %1</source>
        <translation>Ablauf von %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>TTL change of %1</source>
        <translation>TTL-Änderung von %1</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Duplicate</source>
        <translation>Duplizieren</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Rename</source>
        <translation>Umbenennen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New name of the folder %1:</source>
        <translation>Neuer Name des Ordners %1:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>New name of the key %1:</source>
        <translation>Neuer Name des Schlüssels %1:</translation>
    </message>
    <message>
        <location line="+3"/>
        <location line="+1"/>
        <source>-copy</source>
        <translation>-kopie</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>%1 would be longer than 512 bytes.</source>
        <translation>%1 wäre länger als 512 Byte.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Duplicated %1 as %2</source>
        <translation>%1 als %2 dupliziert</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Renamed %1 to %2</source>
        <translation>%1 in %2 umbenannt</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 exists already, or the keys changed meanwhile; nothing was changed.</source>
        <translation>%1 existiert bereits, oder die Schlüssel haben sich inzwischen geändert; nichts wurde geändert.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>duplicate of %1</source>
        <translation>Duplizieren von %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>rename of %1</source>
        <translation>Umbenennen von %1</translation>
    </message>
    <message>
        <location line="+26"/>
        <source>Copied the key name</source>
        <translation>Schlüsselname kopiert</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Copied %1 key names</source>
        <translation>%1 Schlüsselnamen kopiert</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>%1 does not exist any more.</source>
        <translation>%1 existiert nicht mehr.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copied the value of %1</source>
        <translation>Wert von %1 kopiert</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>The server is not listening; start it in the server panel first.</source>
        <translation>Der Server lauscht nicht; starten Sie ihn zuerst in der Serverleiste.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copied a curl command that reads %1</source>
        <translation>curl-Befehl kopiert, der %1 liest</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Undid the %1</source>
        <translation>%1 rückgängig gemacht</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cannot undo the %1: the keys changed since.</source>
        <translation>%1 kann nicht rückgängig gemacht werden: die Schlüssel haben sich seitdem geändert.</translation>
    </message>
</context>
<context>
    <name>kvdesk::KeyModel</name>
    <message>
        <location filename="../ui/keymodel.cpp" line="+300"/>
        <source>Key</source>
        <translation>Schlüssel</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Size</source>
        <translation>Größe</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Expires in</source>
        <translation>Läuft ab in</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Updated</source>
        <translation>Geändert</translation>
    </message>
</context>
<context>
    <name>kvdesk::KvController</name>
    <message>
        <location filename="../server/http/kvcontroller.cpp" line="+74"/>
        <source>The key has a bad percent-escape: %1</source>
        <translation>Der Schlüssel enthält eine fehlerhafte Prozent-Kodierung: %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <location line="+50"/>
        <source>The key is empty</source>
        <translation>Der Schlüssel ist leer</translation>
    </message>
    <message>
        <location line="-47"/>
        <source>The key is %1 bytes long; at most %2 bytes are allowed</source>
        <translation>Der Schlüssel ist %1 Byte lang; höchstens %2 Byte sind erlaubt</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The key is not valid UTF-8</source>
        <translation>Der Schlüssel ist kein gültiges UTF-8</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>If-Match and If-None-Match cannot be combined</source>
        <translation>If-Match und If-None-Match können nicht kombiniert werden</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>If-None-Match on a write supports only &quot;*&quot; (create if absent)</source>
        <translation>If-None-Match unterstützt beim Schreiben nur &quot;*&quot; (anlegen, falls nicht vorhanden)</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Precondition failed: the key has changed or does not exist</source>
        <translation>Vorbedingung nicht erfüllt: der Schlüssel wurde geändert oder existiert nicht</translation>
    </message>
    <message>
        <location line="+83"/>
        <source>The body is empty; send a JSON object {&quot;value&quot;: ..., &quot;ttl&quot;?: seconds}</source>
        <translation>Der Rumpf ist leer; senden Sie ein JSON-Objekt {&quot;value&quot;: ..., &quot;ttl&quot;?: Sekunden}</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The body is not a JSON object: %1</source>
        <translation>Der Rumpf ist kein JSON-Objekt: %1</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>value must not be null</source>
        <translation>value darf nicht null sein</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>value is required</source>
        <translation>value fehlt</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The value is %1 bytes of JSON; at most %2 bytes are allowed</source>
        <translation>Der Wert umfasst %1 Byte JSON; höchstens %2 Byte sind erlaubt</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>ttl must be a whole number of seconds, at least 1 (or null for no expiry)</source>
        <translation>ttl muss eine ganze Zahl von Sekunden sein, mindestens 1 (oder null für kein Ablaufen)</translation>
    </message>
    <message>
        <location line="+43"/>
        <source>cursor is not one this server returned</source>
        <translation>cursor stammt nicht von diesem Server</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>limit must be a whole number from 1 to %1</source>
        <translation>limit muss eine ganze Zahl von 1 bis %1 sein</translation>
    </message>
</context>
<context>
    <name>kvdesk::KvServer</name>
    <message>
        <location filename="../server/kvserver.cpp" line="+89"/>
        <source>cannot listen on &quot;%1&quot;: not an IP address</source>
        <translation>Lauschen auf „%1“ nicht möglich: keine IP-Adresse</translation>
    </message>
    <message>
        <location line="+19"/>
        <location line="+23"/>
        <source>cannot listen on %1 port %2: %3</source>
        <translation>Lauschen auf %1 Port %2 nicht möglich: %3</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>cannot start the server: %1</source>
        <translation>Der Server kann nicht starten: %1</translation>
    </message>
</context>
<context>
    <name>kvdesk::MainWindow</name>
    <message>
        <location filename="../ui/mainwindow.cpp" line="+48"/>
        <source>KV Desk</source>
        <translation>KV Desk</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Filter keys (Ctrl+F)</source>
        <translation>Schlüssel filtern (Strg+F)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Contains</source>
        <translation>Enthält</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Starts with</source>
        <translation>Beginnt mit</translation>
    </message>
    <message>
        <location line="+32"/>
        <source>Server</source>
        <translation>Server</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>Loading...</source>
        <translation>Wird geladen...</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>Cannot read the store: %1</source>
        <translation>Der Speicher kann nicht gelesen werden: %1</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>&amp;Quit</source>
        <translation>&amp;Beenden</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Find Keys</source>
        <translation>Schlüssel &amp;suchen</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>&amp;Flat List</source>
        <translation>&amp;Flache Liste</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>&amp;Start or Stop the Server</source>
        <translation>Server &amp;starten oder stoppen</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copy Server &amp;URL</source>
        <translation>Server-&amp;URL kopieren</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Credentials...</source>
        <translation>&amp;Zugangsdaten...</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copy the API &amp;Key</source>
        <translation>API-&amp;Schlüssel kopieren</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Export Keys...</source>
        <translation>Schlüssel &amp;exportieren...</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Import Keys...</source>
        <translation>Schlüssel &amp;importieren...</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Open &amp;PostgreSQL Database...</source>
        <translation>&amp;PostgreSQL-Datenbank öffnen...</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;About KV Desk</source>
        <translation>&amp;Über KV Desk</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>About KV Desk</source>
        <translation>Über KV Desk</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&lt;b&gt;KV Desk %1&lt;/b&gt;&lt;br&gt;A JSON key/value server and desktop admin app.&lt;p&gt;Free software under the MIT License. Built with Qt %2.&lt;/p&gt;</source>
        <translation>&lt;b&gt;KV Desk %1&lt;/b&gt;&lt;br&gt;Ein JSON-Schlüssel-Wert-Server mit Desktop-Verwaltung.&lt;p&gt;Freie Software unter der MIT-Lizenz. Erstellt mit Qt %2.&lt;/p&gt;</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;File</source>
        <translation>&amp;Datei</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>&amp;Edit</source>
        <translation>&amp;Bearbeiten</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>&amp;View</source>
        <translation>&amp;Ansicht</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>&amp;Server</source>
        <translation>&amp;Server</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;Help</source>
        <translation>&amp;Hilfe</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Main</source>
        <translation>Hauptleiste</translation>
    </message>
    <message>
        <location line="+61"/>
        <source>Counting keys...</source>
        <translation>Schlüssel werden gezählt...</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 keys</source>
        <translation>%1 Schlüssel</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>%1 of %2 keys match</source>
        <translation>%1 von %2 Schlüsseln passen</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>Save (Ctrl+S) or revert your changes to “%1” before opening another key.</source>
        <translation>Speichern (Strg+S) oder verwerfen Sie Ihre Änderungen an „%1“, bevor Sie einen anderen Schlüssel öffnen.</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Cannot read “%1”: %2</source>
        <translation>„%1“ kann nicht gelesen werden: %2</translation>
    </message>
    <message>
        <location line="+68"/>
        <source>Unsaved changes</source>
        <translation>Ungespeicherte Änderungen</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>The value of “%1” has unsaved changes. Discard them?</source>
        <translation>Der Wert von „%1“ hat ungespeicherte Änderungen. Verwerfen?</translation>
    </message>
</context>
<context>
    <name>kvdesk::NewKeyDialog</name>
    <message>
        <location filename="../ui/newkeydialog.cpp" line="+22"/>
        <source>New Key</source>
        <translation>Neuer Schlüssel</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>for example users/42</source>
        <translation>zum Beispiel users/42</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Any JSON value, for example {&quot;name&quot;: &quot;Ada&quot;}</source>
        <translation>Ein beliebiger JSON-Wert, zum Beispiel {&quot;name&quot;: &quot;Ada&quot;}</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>never expires</source>
        <translation>läuft nie ab</translation>
    </message>
    <message>
        <location line="+1"/>
        <source> s</source>
        <translation> s</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Create</source>
        <translation>Anlegen</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&amp;Key:</source>
        <translation>&amp;Schlüssel:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Value:</source>
        <translation>&amp;Wert:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>&amp;Expires after:</source>
        <translation>&amp;Läuft ab nach:</translation>
    </message>
    <message>
        <location line="+35"/>
        <source>Type a key.</source>
        <translation>Geben Sie einen Schlüssel ein.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>A key is at most 512 bytes long (this one is %1).</source>
        <translation>Ein Schlüssel ist höchstens 512 Byte lang (dieser hat %1).</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Type a JSON value.</source>
        <translation>Geben Sie einen JSON-Wert ein.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Line %1, column %2: %3</source>
        <translation>Zeile %1, Spalte %2: %3</translation>
    </message>
</context>
<context>
    <name>kvdesk::PercentCodec</name>
    <message>
        <location filename="../server/http/percentcodec.cpp" line="+36"/>
        <source>incomplete percent-escape at the end</source>
        <translation>unvollständige Prozent-Kodierung am Ende</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>invalid percent-escape &quot;%1&quot;</source>
        <translation>ungültige Prozent-Kodierung „%1“</translation>
    </message>
    <message>
        <location line="+68"/>
        <source>the query string is not valid UTF-8</source>
        <translation>die Abfragezeichenkette ist kein gültiges UTF-8</translation>
    </message>
</context>
<context>
    <name>kvdesk::RateChart</name>
    <message>
        <location filename="../ui/ratechart.cpp" line="+67"/>
        <source>last 5 min · peak %1 req/s · last minute: %2 req/s, %3% errors</source>
        <translation>letzte 5 min · Spitze %1 Anfr./s · letzte Minute: %2 Anfr./s, %3 % Fehler</translation>
    </message>
</context>
<context>
    <name>kvdesk::RecordReader</name>
    <message>
        <location filename="../server/transfer/recordreader.cpp" line="+32"/>
        <source>the key is empty</source>
        <translation>der Schlüssel ist leer</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>the key is longer than 512 bytes</source>
        <translation>der Schlüssel ist länger als 512 Byte</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>the key is not valid UTF-8</source>
        <translation>der Schlüssel ist kein gültiges UTF-8</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>the input ends inside a value</source>
        <translation>die Eingabe endet mitten in einem Wert</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>a value is larger than 64 MiB</source>
        <translation>ein Wert ist größer als 64 MiB</translation>
    </message>
    <message>
        <location line="+55"/>
        <source>the input is neither NDJSON, a JSON array nor a JSON object</source>
        <translation>die Eingabe ist weder NDJSON noch ein JSON-Array oder JSON-Objekt</translation>
    </message>
    <message>
        <location line="+33"/>
        <source>not a JSON object: %1</source>
        <translation>kein JSON-Objekt: %1</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>&quot;%1&quot; must be a positive number of seconds</source>
        <translation>„%1“ muss eine positive Anzahl Sekunden sein</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&quot;key&quot; is missing or not a string</source>
        <translation>„key“ fehlt oder ist keine Zeichenkette</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>&quot;value&quot; is missing</source>
        <translation>„value“ fehlt</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>&quot;value&quot; must be a string in this format</source>
        <translation>„value“ muss in diesem Format eine Zeichenkette sein</translation>
    </message>
    <message>
        <location line="+42"/>
        <source>a line is longer than 64 MiB</source>
        <translation>eine Zeile ist länger als 64 MiB</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>unexpected text after the end of the dump</source>
        <translation>unerwarteter Text nach dem Ende des Abzugs</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>expected &apos;,&apos; or &apos;%1&apos;</source>
        <translation>„,“ oder „%1“ erwartet</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>expected a member name and &apos;:&apos;</source>
        <translation>Mitgliedsname und „:“ erwartet</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>the value is not valid JSON: %1</source>
        <translation>der Wert ist kein gültiges JSON: %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>the value is null (delete the key instead)</source>
        <translation>der Wert ist null (löschen Sie stattdessen den Schlüssel)</translation>
    </message>
</context>
<context>
    <name>kvdesk::RequestLogModel</name>
    <message>
        <location filename="../ui/requestlogmodel.cpp" line="+77"/>
        <source>%1 ms</source>
        <translation>%1 ms</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Time</source>
        <translation>Zeit</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Client</source>
        <translation>Client</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Method</source>
        <translation>Methode</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Path</source>
        <translation>Pfad</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Latency</source>
        <translation>Latenz</translation>
    </message>
</context>
<context>
    <name>kvdesk::ServerPanel</name>
    <message>
        <location filename="../ui/serverpanel.cpp" line="+55"/>
        <source>Copy the URL</source>
        <translation>URL kopieren</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>any free port</source>
        <translation>beliebiger freier Port</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Apply</source>
        <translation>Anwenden</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Restart the listener on this host and port</source>
        <translation>Den Listener auf dieser Adresse und diesem Port neu starten</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>Credentials...</source>
        <translation>Zugangsdaten...</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Copy the API key</source>
        <translation>API-Schlüssel kopieren</translation>
    </message>
    <message>
        <location line="+18"/>
        <source>URL:</source>
        <translation>URL:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>State:</source>
        <translation>Zustand:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Listen on:</source>
        <translation>Lauschen auf:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keys:</source>
        <translation>Schlüssel:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Database:</source>
        <translation>Datenbank:</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Authentication:</source>
        <translation>Authentifizierung:</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Filter the request log (method, path, status, client)</source>
        <translation>Das Anfrageprotokoll filtern (Methode, Pfad, Status, Client)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Clear</source>
        <translation>Leeren</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>counting...</source>
        <translation>wird gezählt...</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>%1 (%2, SQLite)</source>
        <translation>%1 (%2, SQLite)</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>not listening</source>
        <translation>lauscht nicht</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Running</source>
        <translation>Läuft</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Stopped</source>
        <translation>Gestoppt</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Stop</source>
        <translation>Stoppen</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Start</source>
        <translation>Starten</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>API key %1…: send &quot;Authorization: Bearer &lt;key&gt;&quot; (the copy button copies it; Copy as curl includes it)</source>
        <translation>API-Schlüssel %1…: senden Sie &quot;Authorization: Bearer &lt;key&gt;&quot; (der Kopierknopf kopiert ihn; „Als curl kopieren“ enthält ihn)</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Basic: user &quot;%1&quot;</source>
        <translation>Basic: Benutzer „%1“</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>JWT: send &quot;Authorization: Bearer &lt;jwt&gt;&quot;</source>
        <translation>JWT: senden Sie &quot;Authorization: Bearer &lt;jwt&gt;&quot;</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>No credentials are set: every kv and admin request is answered 401.</source>
        <translation>Es sind keine Zugangsdaten gesetzt: jede kv- und Admin-Anfrage wird mit 401 beantwortet.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The server stopped listening.</source>
        <translation>Der Server lauscht nicht mehr.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Listening on %1</source>
        <translation>Lauscht auf %1</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The server cannot start: %1</source>
        <translation>Der Server kann nicht starten: %1</translation>
    </message>
    <message>
        <location line="+24"/>
        <source>Copied %1</source>
        <translation>%1 kopiert</translation>
    </message>
    <message>
        <location line="+27"/>
        <source>Generated an API key and kept it in the keychain.</source>
        <translation>Ein API-Schlüssel wurde erzeugt und im Schlüsselbund abgelegt.</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>These credentials are kept for this session only (no keychain in use).</source>
        <translation>Diese Zugangsdaten gelten nur für diese Sitzung (kein Schlüsselbund in Gebrauch).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Saving to the keychain...</source>
        <translation>Wird im Schlüsselbund gespeichert...</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>%1 The credentials work for this session only; they are not kept for the next start.</source>
        <translation>%1 Die Zugangsdaten gelten nur für diese Sitzung; beim nächsten Start sind sie nicht mehr da.</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>Saved to the OS keychain and applied to the running server at once. Environment variables (KV_API_KEY, ...) win over these at the next start.</source>
        <translation>Im Schlüsselbund des Systems gespeichert und sofort auf den laufenden Server angewandt. Umgebungsvariablen (KV_API_KEY, ...) haben beim nächsten Start Vorrang.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>No keychain is in use: these apply to this session only.</source>
        <translation>Kein Schlüsselbund in Gebrauch: diese gelten nur für diese Sitzung.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Saved the credentials to the keychain; the server uses them now.</source>
        <translation>Zugangsdaten im Schlüsselbund gespeichert; der Server verwendet sie ab sofort.</translation>
    </message>
    <message>
        <location line="+9"/>
        <source>No API key is set; open Credentials to generate one.</source>
        <translation>Kein API-Schlüssel gesetzt; öffnen Sie die Zugangsdaten, um einen zu erzeugen.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Copied the API key</source>
        <translation>API-Schlüssel kopiert</translation>
    </message>
</context>
<context>
    <name>kvdesk::Store</name>
    <message>
        <location filename="../server/store/postgresconnection.cpp" line="+125"/>
        <source>The PostgreSQL driver of Qt is not installed (package libqt6sql6-psql)</source>
        <translation>Der PostgreSQL-Treiber von Qt ist nicht installiert (Paket libqt6sql6-psql)</translation>
    </message>
    <message>
        <location line="+13"/>
        <location line="+42"/>
        <source>Cannot connect to the database %1: %2</source>
        <translation>Keine Verbindung zur Datenbank %1: %2</translation>
    </message>
    <message>
        <location line="-11"/>
        <source>The database %1 cannot be reached; try again shortly</source>
        <translation>Die Datenbank %1 ist nicht erreichbar; versuchen Sie es gleich noch einmal</translation>
    </message>
    <message>
        <location line="+28"/>
        <source>the connection is closed</source>
        <translation>die Verbindung ist geschlossen</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>The database %1 cannot be reached: %2</source>
        <translation>Die Datenbank %1 ist nicht erreichbar: %2</translation>
    </message>
    <message>
        <location filename="../server/store/postgresbrowser.cpp" line="+72"/>
        <location line="+75"/>
        <location line="+14"/>
        <location filename="../server/store/postgresconnection.cpp" line="+1"/>
        <location filename="../server/store/sqliteconnection.cpp" line="+205"/>
        <location line="+22"/>
        <location filename="../server/store/sqlitestatement.h" line="+58"/>
        <location filename="../server/store/store.cpp" line="+178"/>
        <source>Database error: %1</source>
        <translation>Datenbankfehler: %1</translation>
    </message>
    <message>
        <location filename="../server/store/store.cpp" line="-69"/>
        <source>The database %1 does not exist</source>
        <translation>Die Datenbank %1 existiert nicht</translation>
    </message>
    <message>
        <location line="+4"/>
        <location line="+57"/>
        <source>The database %1 needs migrations (%2); start kvdesk on it once first</source>
        <translation>Die Datenbank %1 braucht Migrationen (%2); starten Sie kvdesk zuerst einmal darauf</translation>
    </message>
    <message>
        <location line="-51"/>
        <source>Cannot create the folder %1</source>
        <translation>Der Ordner %1 kann nicht angelegt werden</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The database %1 is in use by another kvdesk process (pid %2)</source>
        <translation>Die Datenbank %1 wird von einem anderen kvdesk-Prozess verwendet (PID %2)</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Cannot switch %1 to WAL mode: %2</source>
        <translation>%1 kann nicht in den WAL-Modus geschaltet werden: %2</translation>
    </message>
    <message>
        <location filename="../server/store/sqliteconnection.cpp" line="-141"/>
        <location filename="../server/store/storebrowser.cpp" line="+61"/>
        <source>Cannot prepare a statement: %1</source>
        <translation>Eine Anweisung kann nicht vorbereitet werden: %1</translation>
    </message>
    <message>
        <location filename="../server/store/storebrowser.cpp" line="+65"/>
        <source>The database schema is out of date</source>
        <translation>Das Datenbankschema ist veraltet</translation>
    </message>
    <message>
        <location filename="../server/store/sqliteconnection.cpp" line="+27"/>
        <source>Cannot open the database %1: %2</source>
        <translation>Die Datenbank %1 kann nicht geöffnet werden: %2</translation>
    </message>
    <message>
        <location filename="../server/store/postgresconnection.cpp" line="+40"/>
        <location filename="../server/store/sqliteconnection.cpp" line="+25"/>
        <source>The database schema is out of date; run the pending migrations (POST {admin}/migrate)</source>
        <translation>Das Datenbankschema ist veraltet; führen Sie die ausstehenden Migrationen aus (POST {admin}/migrate)</translation>
    </message>
    <message>
        <location filename="../server/store/postgresoptions.cpp" line="+31"/>
        <source>the PostgreSQL URL is not valid (postgres://user:password@host:port/database)</source>
        <translation>die PostgreSQL-URL ist ungültig (postgres://benutzer:passwort@host:port/datenbank)</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>the PostgreSQL URL names no database (postgres://user:password@host:port/database)</source>
        <translation>die PostgreSQL-URL nennt keine Datenbank (postgres://benutzer:passwort@host:port/datenbank)</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>the PostgreSQL URL has an unusable option &quot;%1&quot;</source>
        <translation>die PostgreSQL-URL hat eine unbrauchbare Option „%1“</translation>
    </message>
</context>
<context>
    <name>kvdesk::StoreService</name>
    <message>
        <location filename="../ui/storeservice.cpp" line="+63"/>
        <source>The store is closed.</source>
        <translation>Der Speicher ist geschlossen.</translation>
    </message>
</context>
<context>
    <name>kvdesk::TransferCommand</name>
    <message>
        <location filename="../server/commands/transfercommand.cpp" line="+41"/>
        <source>Writes the keys (all, or those under a prefix) to FILE, or to standard output.
Formats: ndjson (one {&quot;key&quot;,&quot;value&quot;,&quot;expiration&quot;} per line, the default), wrangler (the JSON array `wrangler kv bulk put` reads; values as strings), json ({&quot;key&quot;: value}, without TTLs).</source>
        <translation>Schreibt die Schlüssel (alle oder die unter einem Präfix) in DATEI oder auf die Standardausgabe.
Formate: ndjson (ein {&quot;key&quot;,&quot;value&quot;,&quot;expiration&quot;} pro Zeile, der Standard), wrangler (das JSON-Array, das `wrangler kv bulk put` liest; Werte als Zeichenketten), json ({&quot;key&quot;: value}, ohne TTLs).</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Reads keys from FILE (&quot;-&quot;: standard input): NDJSON, a wrangler bulk array or a JSON object, recognised from the content. One transaction per 1,000 keys; bad records are reported and skipped. Stop the server on that database first, or use POST {admin}/import.</source>
        <translation>Liest Schlüssel aus DATEI (&quot;-&quot;: Standardeingabe): NDJSON, ein wrangler-Bulk-Array oder ein JSON-Objekt, am Inhalt erkannt. Eine Transaktion je 1.000 Schlüssel; fehlerhafte Datensätze werden gemeldet und übersprungen. Stoppen Sie zuerst den Server auf dieser Datenbank, oder verwenden Sie POST {admin}/import.</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>The database (default: KV_DB, then the default path).</source>
        <translation>Die Datenbank (Standard: KV_DB, dann der Standardpfad).</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>path</source>
        <translation>pfad</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Only keys that start with this.</source>
        <translation>Nur Schlüssel, die hiermit beginnen.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>prefix</source>
        <translation>präfix</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>ndjson, wrangler or json.</source>
        <translation>ndjson, wrangler oder json.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>format</source>
        <translation>format</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Report what would change; write nothing.</source>
        <translation>Melden, was sich ändern würde; nichts schreiben.</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>What to do with keys that exist: overwrite (default) or skip.</source>
        <translation>Was mit vorhandenen Schlüsseln geschieht: overwrite (Standard) oder skip.</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>policy</source>
        <translation>regel</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Where to write (default: standard output).</source>
        <translation>Wohin geschrieben wird (Standard: die Standardausgabe).</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>The dump to read.</source>
        <translation>Der zu lesende Abzug.</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>kvdesk export: at most one FILE
</source>
        <translation>kvdesk export: höchstens eine DATEI
</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>kvdesk import: name one FILE
</source>
        <translation>kvdesk import: nennen Sie eine DATEI
</translation>
    </message>
    <message>
        <location line="+25"/>
        <source>kvdesk export: --format is ndjson, wrangler or json, not &quot;%1&quot;
</source>
        <translation>kvdesk export: --format ist ndjson, wrangler oder json, nicht „%1“
</translation>
    </message>
    <message>
        <location line="+10"/>
        <source>kvdesk export: cannot write %1: %2
</source>
        <translation>kvdesk export: %1 kann nicht geschrieben werden: %2
</translation>
    </message>
    <message>
        <location line="+15"/>
        <location line="+6"/>
        <source>kvdesk export: %1
</source>
        <translation>kvdesk export: %1
</translation>
    </message>
    <message>
        <location line="-3"/>
        <source>Exported %1 keys (%2 bytes).
</source>
        <translation>%1 Schlüssel exportiert (%2 Byte).
</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>kvdesk import: --on-conflict is skip or overwrite, not &quot;%1&quot;
</source>
        <translation>kvdesk import: --on-conflict ist skip oder overwrite, nicht „%1“
</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>kvdesk import: cannot read %1: %2
</source>
        <translation>kvdesk import: %1 kann nicht gelesen werden: %2
</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>Dry run (nothing written): %1
</source>
        <translation>Probelauf (nichts geschrieben): %1
</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Imported: %1
</source>
        <translation>Importiert: %1
</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>kvdesk import: %1
</source>
        <translation>kvdesk import: %1
</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Stop that server first, or import through it: POST {admin}/import, or File &gt; Import Keys in its window.
</source>
        <translation>Stoppen Sie zuerst diesen Server, oder importieren Sie über ihn: POST {admin}/import oder Datei &gt; Schlüssel importieren in seinem Fenster.
</translation>
    </message>
</context>
<context>
    <name>kvdesk::TransferDialog</name>
    <message>
        <location filename="../ui/transferdialog.cpp" line="+31"/>
        <location line="+94"/>
        <source>Import Keys</source>
        <translation>Schlüssel importieren</translation>
    </message>
    <message>
        <location line="-94"/>
        <location line="+96"/>
        <source>Export Keys</source>
        <translation>Schlüssel exportieren</translation>
    </message>
    <message>
        <location line="-93"/>
        <source>Browse...</source>
        <translation>Durchsuchen...</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>&amp;File:</source>
        <translation>&amp;Datei:</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Overwrite existing keys</source>
        <translation>Vorhandene Schlüssel überschreiben</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keep existing keys (skip)</source>
        <translation>Vorhandene Schlüssel behalten (überspringen)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Existing keys:</source>
        <translation>Vorhandene Schlüssel:</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>NDJSON, a wrangler bulk array or a {&quot;key&quot;: value} object, recognised from the content.</source>
        <translation>NDJSON, ein wrangler-Bulk-Array oder ein Objekt {&quot;key&quot;: value}, am Inhalt erkannt.</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>every key</source>
        <translation>alle Schlüssel</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>NDJSON (one key per line, with TTLs)</source>
        <translation>NDJSON (ein Schlüssel pro Zeile, mit TTLs)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>wrangler kv bulk put (JSON array, values as strings)</source>
        <translation>wrangler kv bulk put (JSON-Array, Werte als Zeichenketten)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>JSON object {&quot;key&quot;: value} (no TTLs)</source>
        <translation>JSON-Objekt {&quot;key&quot;: value} (ohne TTLs)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Keys starting with:</source>
        <translation>Schlüssel, die beginnen mit:</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>F&amp;ormat:</source>
        <translation>F&amp;ormat:</translation>
    </message>
    <message>
        <location line="+15"/>
        <source>&amp;Dry Run</source>
        <translation>&amp;Probelauf</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>&amp;Import</source>
        <translation>&amp;Importieren</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>&amp;Export</source>
        <translation>&amp;Exportieren</translation>
    </message>
    <message>
        <location line="+48"/>
        <source>Dumps (*.ndjson *.json *.jsonl);;All files (*)</source>
        <translation>Abzüge (*.ndjson *.json *.jsonl);;Alle Dateien (*)</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Dumps (*.ndjson *.json);;All files (*)</source>
        <translation>Abzüge (*.ndjson *.json);;Alle Dateien (*)</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Choose a file first.</source>
        <translation>Wählen Sie zuerst eine Datei.</translation>
    </message>
    <message>
        <location line="+8"/>
        <source>The store is closed.</source>
        <translation>Der Speicher ist geschlossen.</translation>
    </message>
    <message>
        <location line="+11"/>
        <source>Cannot read %1: %2</source>
        <translation>%1 kann nicht gelesen werden: %2</translation>
    </message>
    <message>
        <location line="+21"/>
        <source>Cannot write %1: %2</source>
        <translation>%1 kann nicht geschrieben werden: %2</translation>
    </message>
    <message>
        <location line="+17"/>
        <source>Trying...</source>
        <translation>Probelauf...</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Importing...</source>
        <translation>Wird importiert...</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exporting...</source>
        <translation>Wird exportiert...</translation>
    </message>
    <message>
        <location line="+19"/>
        <source>Failed: %1</source>
        <translation>Fehlgeschlagen: %1</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Failed after %1 keys: %2</source>
        <translation>Fehlgeschlagen nach %1 Schlüsseln: %2</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Cancelled after %1 keys; the file is incomplete.</source>
        <translation>Abgebrochen nach %1 Schlüsseln; die Datei ist unvollständig.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Exported %1 keys (%2 bytes) to %3.</source>
        <translation>%1 Schlüssel (%2 Byte) nach %3 exportiert.</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Dry run, nothing was written: %1</source>
        <translation>Probelauf, nichts wurde geschrieben: %1</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>Imported: %1</source>
        <translation>Importiert: %1</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>create</source>
        <translation>anlegen</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>overwrite</source>
        <translation>überschreiben</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>unchanged</source>
        <translation>unverändert</translation>
    </message>
    <message>
        <location line="+0"/>
        <source>skip</source>
        <translation>überspringen</translation>
    </message>
</context>
<context>
    <name>kvdesk::ValueEditor</name>
    <message>
        <location filename="../ui/valueeditor.cpp" line="+46"/>
        <source>&amp;Save</source>
        <translation>&amp;Speichern</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Save the value (Ctrl+S)</source>
        <translation>Den Wert speichern (Strg+S)</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Re&amp;vert</source>
        <translation>&amp;Zurücksetzen</translation>
    </message>
    <message>
        <location line="+29"/>
        <source>Select a key to see its value.</source>
        <translation>Wählen Sie einen Schlüssel, um seinen Wert zu sehen.</translation>
    </message>
    <message>
        <location line="+14"/>
        <source>This key does not exist (any more). Type a value and save to create it.</source>
        <translation>Diesen Schlüssel gibt es nicht (mehr). Geben Sie einen Wert ein und speichern Sie, um ihn anzulegen.</translation>
    </message>
    <message>
        <location line="+16"/>
        <source>This value was just changed elsewhere; showing the new value.</source>
        <translation>Dieser Wert wurde soeben anderswo geändert; der neue Wert wird angezeigt.</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>This key was just deleted or expired elsewhere.</source>
        <translation>Dieser Schlüssel wurde soeben anderswo gelöscht oder ist abgelaufen.</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>This key was changed elsewhere since you opened it. Saving will ask which version to keep.</source>
        <translation>Dieser Schlüssel wurde anderswo geändert, seit Sie ihn geöffnet haben. Beim Speichern werden Sie gefragt, welche Fassung bleiben soll.</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>This key was deleted elsewhere since you opened it. Saving will create it again.</source>
        <translation>Dieser Schlüssel wurde anderswo gelöscht, seit Sie ihn geöffnet haben. Speichern legt ihn neu an.</translation>
    </message>
    <message>
        <location line="+59"/>
        <source>Valid JSON: %1, %2</source>
        <translation>Gültiges JSON: %1, %2</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Line %1, column %2: %3</source>
        <translation>Zeile %1, Spalte %2: %3</translation>
    </message>
    <message>
        <location line="+22"/>
        <source>No key selected</source>
        <translation>Kein Schlüssel ausgewählt</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>New key (not saved yet)</source>
        <translation>Neuer Schlüssel (noch nicht gespeichert)</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>expires in %1</source>
        <translation>läuft ab in %1</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>never expires</source>
        <translation>läuft nie ab</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>%1 · %2 · %3 · updated %4</source>
        <translation>%1 · %2 · %3 · geändert %4</translation>
    </message>
</context>
<context>
    <name>main</name>
    <message>
        <location filename="../server/launch.cpp" line="+98"/>
        <source>Shutting down...
</source>
        <translation>Wird beendet...
</translation>
    </message>
    <message>
        <location line="+12"/>
        <source>KV Desk %1 listening on %2
</source>
        <translation>KV Desk %1 lauscht auf %2
</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Database: %1
</source>
        <translation>Datenbank: %1
</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>No credentials are configured, so every kv and admin request is answered 401.
Set one, for example:  KV_API_KEY=$(openssl rand -hex 32) kvdesk --no-gui
</source>
        <translation>Es sind keine Zugangsdaten eingerichtet, daher wird jede kv- und Admin-Anfrage mit 401 beantwortet.
Setzen Sie welche, zum Beispiel:  KV_API_KEY=$(openssl rand -hex 32) kvdesk --no-gui
</translation>
    </message>
    <message>
        <location line="+5"/>
        <source>Authenticate with the API key made for you at this first launch: the window&apos;s server panel copies it (Server &gt; Copy the API Key, Ctrl+Shift+Y):
  curl -H &quot;Authorization: Bearer &lt;key&gt;&quot; %1/hello
</source>
        <translation>Authentifizieren Sie sich mit dem API-Schlüssel, der bei diesem ersten Start für Sie erzeugt wurde: die Serverleiste des Fensters kopiert ihn (Server &gt; API-Schlüssel kopieren, Strg+Umschalt+Y):
  curl -H &quot;Authorization: Bearer &lt;key&gt;&quot; %1/hello
</translation>
    </message>
    <message>
        <location line="+7"/>
        <source>Authenticate with the API key kept in the OS keychain (`kvdesk credentials show` prints it):
  curl -H &quot;Authorization: Bearer &lt;key&gt;&quot; %1/hello
</source>
        <translation>Authentifizieren Sie sich mit dem API-Schlüssel aus dem Schlüsselbund des Systems (`kvdesk credentials show` gibt ihn aus):
  curl -H &quot;Authorization: Bearer &lt;key&gt;&quot; %1/hello
</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Authenticate with the API key from %1:
  curl -H &quot;Authorization: Bearer $%1&quot; %2/hello
</source>
        <translation>Authentifizieren Sie sich mit dem API-Schlüssel aus %1:
  curl -H &quot;Authorization: Bearer $%1&quot; %2/hello
</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Authenticate with the Basic credentials kept in the OS keychain (user &quot;%1&quot;).
</source>
        <translation>Authentifizieren Sie sich mit den Basic-Zugangsdaten aus dem Schlüsselbund des Systems (Benutzer „%1“).
</translation>
    </message>
    <message>
        <location line="+4"/>
        <source>Authenticate with Basic credentials from %1 and %2:
  curl -u &quot;$%1:$%2&quot; %3/hello
</source>
        <translation>Authentifizieren Sie sich mit Basic-Zugangsdaten aus %1 und %2:
  curl -u &quot;$%1:$%2&quot; %3/hello
</translation>
    </message>
    <message>
        <location line="+3"/>
        <source>Authenticate with a JWT signed with the secret kept in the OS keychain.
</source>
        <translation>Authentifizieren Sie sich mit einem JWT, signiert mit dem Geheimnis aus dem Schlüsselbund des Systems.
</translation>
    </message>
    <message>
        <location line="+2"/>
        <source>Authenticate with a JWT signed with %1 (HS256/384/512), sent as &quot;Authorization: Bearer &lt;jwt&gt;&quot;.
</source>
        <translation>Authentifizieren Sie sich mit einem JWT, signiert mit %1 (HS256/384/512), gesendet als &quot;Authorization: Bearer &lt;jwt&gt;&quot;.
</translation>
    </message>
    <message>
        <location line="+6"/>
        <source>Authenticate with a JWT signed by a key of the JWKS at %1, sent as &quot;Authorization: Bearer &lt;jwt&gt;&quot;.
</source>
        <translation>Authentifizieren Sie sich mit einem JWT, signiert von einem Schlüssel des JWKS unter %1, gesendet als &quot;Authorization: Bearer &lt;jwt&gt;&quot;.
</translation>
    </message>
    <message>
        <location filename="../ui/guimain.cpp" line="+48"/>
        <source>KV Desk</source>
        <translation>KV Desk</translation>
    </message>
    <message>
        <location line="+1"/>
        <source>Cannot open the database: %1</source>
        <translation>Die Datenbank kann nicht geöffnet werden: %1</translation>
    </message>
    <message>
        <location line="+13"/>
        <source>The server cannot start: %1</source>
        <translation>Der Server kann nicht starten: %1</translation>
    </message>
</context>
</TS>
