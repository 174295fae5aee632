# Maandishi ya mtm kwa Kiswahili. Funguo ni zile za faili la Kiingereza (en/main.ftl).
# Msamiati: voucher = vocha; staff = mhudumu; shift = zamu; float = fedha za kuanzia.

## Layout and navigation
nav-vouchers = Vocha
nav-batch = Kundi
nav-overview = Muhtasari
nav-alerts = Tahadhari
nav-reports = Ripoti
nav-after-sales = Baada ya mauzo
nav-notifications = Arifa
nav-admin = Usimamizi
nav-routers = Ruta
nav-releases = Matoleo
nav-users = Watumiaji
nav-log-out = Toka
role-staff = mhudumu
role-manager = meneja
role-super_admin = msimamizi mkuu
lang-label = Lugha
lang-browser = Lugha ya kivinjari
lang-set = Weka

## Words used on many pages
back = Rudi
back-to-vouchers = Rudi kwenye vocha
cancel = Ghairi
none-yet = Bado hakuna.
none = Hakuna.
nothing-yet = Bado hakuna kitu.
yes = ndiyo
no = hapana
never = kamwe
all = zote
col-time = Saa
col-code = Msimbo
col-package = Kifurushi
col-price = Bei
col-state = Hali
col-location = Tawi
col-router = Ruta
col-agent = Wakala
col-online = Mtandaoni
col-last-seen = Alionekana mwisho
col-when = Lini
col-what = Nini
col-who = Nani
col-by = Na
col-reason = Sababu
col-refund = Marejesho
col-voucher = Vocha
col-staff = Mhudumu
col-name = Jina
col-kind = Aina
col-issued = Zilizotolewa
col-used = Zilizotumika
col-unused = Hazijatumika
col-expected = Inayotarajiwa
col-confirmed = Iliyothibitishwa
col-variance = Tofauti
col-alerts = Tahadhari
col-version = Toleo
col-attempts = Majaribio
col-last-error = Hitilafu ya mwisho
col-alert = Tahadhari
col-channel = Njia
reason = Sababu
note = Maelezo
size-58 = mm 58
size-80 = mm 80
unit-days = siku { $n }
unit-hours = saa { $n }
unit-minutes = dakika { $n }
unit-under-a-minute = chini ya dakika moja

## Voucher states
state-issued = imetolewa
state-applied = iko kwenye ruta
state-in_use = inatumika
state-used_up = imekwisha
state-expired = muda umeisha
state-disabled = imezimwa
state-removed = imeondolewa
state-unused = haijatumika
token-sent = imetumwa kwa ruta
token-waiting = inasubiri ruta
token-active = hai kwenye ruta
token-offline-note = Ruta haiko mtandaoni; vocha itaundwa itakaporudi mtandaoni.

## Log in
login-title = Ingia
login-username = Jina la mtumiaji
login-password = Nenosiri
login-ended = Kipindi chako kimeisha (muda wake umekwisha, uliondoka, au msimamizi alikimaliza). Ingia tena ili uendelee.
login-wrong = Jina la mtumiaji au nenosiri si sahihi.
login-too-many = majaribio mengi mno; jaribu tena baadaye
login-busy = seva ina shughuli nyingi; jaribu tena baada ya muda mfupi
login-foreign = Kuingia huku hakukutoka kwenye ukurasa wa tovuti hii.

## Error pages
error-back = Rudi kwenye ukurasa wako wa mwanzo
error-expired-title = Fomu hii imepitwa na wakati
error-expired-advice = Ukurasa ulikaa wazi muda mrefu sana au ni wa kuingia kwa zamani. Upakie upya kisha utume fomu tena.
error-forbidden-title = Hairuhusiwi
error-forbidden-advice = Nafasi ya akaunti yako hairuhusu ukurasa huu. Muulize meneja au msimamizi ikiwa unauhitaji.
error-not-found-title = Haikupatikana
error-not-found-advice = Hakuna kitu kwenye anwani hii, au si chako kukiona. Huenda kiungo ni cha zamani au kimeandikwa vibaya.
error-internal-title = Kuna tatizo limetokea
error-internal-advice = Seva haikuweza kukamilisha hili na imeandika sababu. Jaribu tena; likiendelea, mwambie msimamizi wako saa lilipotokea.

## Counter: clock in, sell, clock out
clock-in = Anza zamu
clock-in-intro = Hesabu fedha zilizo kwenye droo kisha anza zamu ili kuanza kuuza vocha.
opening-float = Fedha za kuanzia
sell-title = Uza vocha
sell-shift-open = Zamu iko wazi tangu saa { $since } UTC · leo: vocha { $count }, { $revenue }
sell-no-packages = Bado hakuna vifurushi. Muombe msimamizi aunde kimoja.
sell-my-vouchers = Vocha zangu za leo
clock-out = Maliza zamu
clock-out-cash = Fedha zilizo kwenye droo sasa

## One voucher
voucher-title = Vocha { $code }
voucher-password = Nenosiri
voucher-mac-bound = Imefungwa kwa kifaa { $mac }
voucher-mac-unbound = Itafungwa kwa kifaa cha kwanza kuingia nayo
voucher-qr-login = Msimbo wa QR wa kuingia
voucher-log-in-at = Ingia kupitia { $url }
voucher-print-58 = Chapisha mm 58
voucher-after-sales = Baada ya mauzo: batilisha, badilisha, ongeza, chapisha tena, zima

## Printed vouchers
print-title-one = Chapisha vocha { $code }
print-title-many = Chapisha vocha { $n }
print-now = Chapisha
print-made = Vocha { $n } kati ya { $asked } zimeundwa.
print-reprint = NAKALA YA { $n }
print-qr-check = Msimbo wa QR wa kuangalia muda na data iliyobaki
print-scan-check = Changanua uone muda na data iliyobaki
print-issued = Imetolewa saa { $time } UTC

## Customer self-check
check-title = Vocha yako ya Wi-Fi
check-time-left = Muda uliobaki
check-data-left = Data iliyobaki
check-valid-until = Inatumika hadi
check-unused = Bado haijatumika: muda wako unaanza unapoingia mara ya kwanza.
check-as-of = Kulingana na ripoti ya mwisho ya ruta; huenda imechelewa dakika chache.
check-invalid = Msimbo huu haufanyi kazi: huenda umekosewa, umekwisha au muda wake umeisha. Uliza kaunta.
check-limited = Ukaguzi umezidi kutoka mtandao huu. Jaribu tena baada ya dakika chache.
check-code = Msimbo wa vocha
check-submit = Angalia
check-from-first-login = { $duration } tangu uingie mara ya kwanza
check-no-end = haina tarehe ya mwisho
check-no-limit = bila kikomo

## Alerts and their words
severity-critical = hatari
severity-warning = onyo
severity-info = taarifa
alert-state-open = wazi
alert-state-acknowledged = imepokelewa
alert-state-resolved = imetatuliwa
al-open = Zilizo wazi
al-acknowledged = Zilizopokelewa
al-resolved = Zilizotatuliwa
al-all = Zote
al-shown = Tahadhari { $first } hadi { $last } kati ya { $total } zinaonyeshwa; CSV ina zote.
al-who-on_duty = waliokuwa zamuni
al-who-staff = mhudumu
al-nobody = hakuna aliyekuwa zamuni
al-evidence = Ushahidi
al-note-by = Maelezo ({ $who })
al-note-required = Andika maelezo ili kutatua tahadhari: kilichogunduliwa au kufanywa.
al-note-placeholder = Maelezo (yanahitajika ili kutatua)
al-acknowledge = Pokea
al-resolve = Tatua
al-none = Hakuna tahadhari hapa.

## Routers overview
col-sessions = Vipindi
col-pending-commands = Amri zinazosubiri
no-routers = Hakuna ruta iliyosajiliwa.
latest-vouchers = Vocha za karibuni
intact = kamili

## After-sales
as-title = Baada ya mauzo: vocha
as-sold = iliuzwa { $at }
as-now = sasa
as-printed-again = imechapishwa tena mara { $n }
as-reprint = Chapisha tena
as-reprint-help = Msimbo uleule, ukiwa na alama ya nakala kwenye tiketi.
as-reprint-example = printa ilikwama
as-extend = Ongeza
as-minutes-to-add = Dakika za kuongeza
as-mb-to-add = Megabaiti za kuongeza
as-extend-example = mtandao ulikatika kwa dakika 20
as-disable = Zima
as-disable-help = Inaisimamisha kwenye ruta na kutoa vipindi vyake, hadi iwashwe tena.
as-enable = Washa
as-replace = Badilisha
as-replace-help = Inaondoa vocha hii kwenye ruta na kuunda mpya ya kifurushi kilekile; mauzo yanahamia kwenye vocha mpya.
as-replace-example = mteja hawezi kuingia
as-void = Batilisha
as-void-help = Inaiondoa kwenye ruta kabisa. Fedha zinazorejeshwa zinaandikwa kama marejesho kwenye droo yako
as-void-help-staff = ; zaidi ya kikomo cha tawi, meneja lazima aidhinishe kwanza
as-void-example = mteja amebadilisha nia
as-history = Historia
as-new-voucher = vocha mpya
as-back = Rudi kwenye vocha
as-kind-void = kubatilisha
as-kind-replace = kubadilisha
as-kind-extend = kuongeza
as-kind-reprint = kuchapisha tena
as-kind-disable = kuzima
as-kind-enable = kuwasha
as-state-requested = imeombwa
as-state-done = imefanyika
as-state-rejected = imekataliwa
as-waiting = Marejesho yanayosubiri idhini
as-asked = Iliombwa
as-note-placeholder = maelezo
as-approve = Idhinisha
as-reject = Kataa
as-recent = Za karibuni
as-notice-requested = Marejesho haya yanazidi kiasi unachoweza kurejesha peke yako: meneja ameombwa kuyaidhinisha.
as-notice-done = Imefanyika. Ruta inapata mabadiliko mara moja (au itakaporudi mtandaoni).
as-give-reason = Toa sababu: inaandikwa kwenye kumbukumbu za ukaguzi.

## Notification channels
nt-intro = Tahadhari mpya zinafika kwenye njia hizi ndani ya sekunde chache, mara moja kila moja, na kujaribiwa tena mpokeaji asipopatikana. Webhook zimetiwa saini:
nt-created = Njia “{ $name }” imeongezwa. Siri yake ya kutia saini, inaonyeshwa sasa tu:
nt-target = Mahali pa kutuma
nt-from-severity = Kuanzia uzito
nt-daily-report = Ripoti ya kila siku
nt-remove = Ondoa
nt-no-channels = Bado hakuna njia.
nt-add-title = Ongeza njia
nt-kind-webhook = Webhook (JSON iliyotiwa saini; Slack, lango za WhatsApp, yako mwenyewe)
nt-kind-telegram = Boti ya Telegram
nt-kind-ntfy = Mada ya ntfy
nt-kind-email = Barua pepe
nt-target-help = Mahali pa kutuma (URL ya webhook; Telegram: https://api.telegram.org/bot<tokeni>; ntfy: https://ntfy.sh/<mada>; barua pepe: anwani)
nt-chat-id = Kitambulisho cha gumzo la Telegram (Telegram pekee)
nt-dead-report = ripoti ya siku { $date }
nt-also-daily = Pia muhtasari wa ripoti ya kila siku ya tawi au matawi
nt-add = Ongeza njia
nt-failed = Zilizoshindikana kabisa

## Manager overview
mg-all-today = Matawi yote leo
mg-daily-reports = Ripoti za kila siku
mg-routers-online = ruta mtandaoni
mg-offline = { $n } nje ya mtandao
mg-users-online = watumiaji mtandaoni sasa
mg-vouchers-today = vocha leo ({ $used } zimetumika, { $unused } hazijatumika)
mg-expected-confirmed = zinazotarajiwa, { $confirmed } zimethibitishwa
mg-open-alerts = tahadhari zilizo wazi
mg-routers-on-off = Ruta hai/zimezimika
mg-users-now = Watumiaji sasa
mg-no-locations = Bado hakuna matawi.
mg-updated = Imesasishwa saa { $time } UTC; inajisasisha kila sekunde 5.

## One location or staff member today
md-today = { $title }: leo
md-all-locations = Matawi yote
md-vouchers = vocha ({ $used } zimetumika, { $unused } hazijatumika)
md-expected = zinazotarajiwa
md-confirmed = zimethibitishwa mwisho wa zamu
md-not-counted = bado hazijahesabiwa
md-variance = tofauti ya fedha (zamu zilizofungwa)
md-nobody-sold = Hakuna aliyeuza chochote leo.
md-raised = Ilitolewa
md-no-staff-alerts = Hakuna tahadhari inayomhusu mhudumu huyu.
md-open-shifts = Zamu zilizo wazi
md-opened = Ilifunguliwa
md-open-for = Imekuwa wazi kwa
md-float = Fedha za kuanzia
md-forgotten = imesahaulika?
md-close-for-staff = Funga kwa niaba ya mhudumu
md-no-open-shifts = Hakuna zamu iliyo wazi.
md-shifts = Zamu
md-closed = Ilifungwa
md-still-open = wazi
md-expected-cash = Fedha zinazotarajiwa
md-declared = Zilizotajwa
md-no-shifts = Hakuna zamu leo.
md-none-today = Hakuna leo.
chart-issued-per-hour = Vocha zilizotolewa kwa saa
chart-traffic = Data ya vocha hizo (MB)
chart-max = juu kabisa { $max }

## Daily reports
rp-title = Ripoti za kila siku za ulinganisho
rp-show = Onyesha
rp-day = Siku
rp-check = Ukaguzi
rp-signed-off = Imeidhinishwa
rp-altered = imebadilishwa
rp-not-yet = bado
rp-none = Bado hakuna ripoti: ripoti ya tawi huandaliwa baada ya siku yake kufungwa.
rp-report = Ripoti ya { $date }
rp-all = Ripoti zote
rp-altered-warning = Ripoti hii hailingani tena na alama yake ya hash: ilibadilishwa baada ya kuandaliwa.
rp-issued = zimetolewa ({ $applied } kwenye ruta, { $not_applied } hazikuwahi kuwekwa)
rp-used = zimetumika ({ $used_up } zimekwisha, { $expired } muda umeisha, { $unused } hazijatumika)
rp-variance = tofauti ya fedha
rp-open-shifts = zamu { $n } bado ziko wazi
rp-alerts = tahadhari siku hiyo
rp-as-counts = { $voided } zimebatilishwa, { $replaced } zimebadilishwa, { $extended } zimeongezwa, { $reprinted } zimechapishwa tena, { $disabled } zimezimwa, { $enabled } zimewashwa; { $refunded } zimerejeshwa
rp-as-moved = { $moved } zimehamishiwa kwenye vocha mbadala
rp-as-requested = marejesho { $n } yanasubiri meneja
rp-as-rejected = { $n } yamekataliwa
rp-signed-off-by = Imeidhinishwa na { $who } saa { $time } UTC
rp-what-checked = Ulichokagua
rp-sign-off = Idhinisha
rp-whole = Ripoti nzima

## Closing a shift for staff
cs-title = Funga zamu
cs-heading = Funga zamu ya { $staff }
cs-opened = Ilifunguliwa saa { $time } UTC na fedha za kuanzia { $float }
cs-closed-already = tayari imefungwa
cs-help = Hesabu droo na uandike kilichomo: tofauti inakokotolewa kama wakati wa kumaliza zamu, droo yenye tofauti inayozidi kiwango cha tawi inatoa tahadhari, na maelezo yako yanaandikwa kwenye kumbukumbu za ukaguzi.
cs-cash-counted = Fedha zilizohesabiwa
cs-note = Maelezo (yanahitajika)
cs-close = Funga zamu

## Batch of vouchers
batch-title = Kundi la vocha
batch-heading = Kundi la vocha za kuchapishwa mapema
batch-clock-in-first = Anza zamu kwanza kwenye
batch-vouchers-page = ukurasa wa vocha
batch-help = Kila vocha inatolewa na kutumwa kwa ruta kama iliyouzwa kaunta, na inahesabiwa kwenye fedha za zamu hii.
batch-how-many = Ngapi (1 hadi { $max })
batch-make = Unda na uchapishe
batch-page-title = Kundi la vocha { $n }
batch-on-router = { $on } kati ya { $total } ziko kwenye ruta
batch-all-on-router = Vocha zote { $total } ziko kwenye ruta.
batch-print = Chapisha
batch-print-help = Kila sehemu huchapishwa kwenye karatasi za A4 au vipande vya printa ya risiti.
batch-part = Vocha { $from } hadi { $to }
batch-print-a4 = Karatasi za A4
print-part = Vocha { $from } hadi { $to } kati ya { $total }

## Admin home
ad-routers-link = Ruta, matawi, vifurushi
ad-database = Hifadhidata
ad-size = Ukubwa
ad-connections = Miunganisho
ad-agents-online = Mawakala mtandaoni
ad-commands-open = Amri ambazo bado hazijathibitishwa
ad-rows = safu { $n }
ad-chains = Kumbukumbu za ukaguzi na daftari la vocha
ad-chain = Mnyororo
ad-rows-col = Safu
ad-result = Matokeo
ad-broken-at = umekatika kwenye safu { $row }
ad-verify = Hakiki minyororo
ad-settings = Mipangilio ya mfumo
ad-settings-help = Huwekwa kwenye faili la usanidi la seva au vigezo vya MTM_* (tazama control-plane/README.md); mipangilio ya kila tawi iko kwenye ukurasa wa mipangilio wa tawi hilo.
ad-mqtt = MQTT kwa mawakala
ad-public-key = Ufunguo wa umma wa seva kuu
ad-code-length = Urefu wa msimbo wa vocha
ad-login-url = URL ya kuingia kwenye hotspot iliyo kwenye vocha
ad-not-set = haijawekwa
ad-secure-cookies = Vidakuzi salama na HSTS (nyuma ya TLS)
ad-on = imewashwa
ad-off = imezimwa
ad-dead-title = Arifa zilizoshindikana kabisa
ad-dead-help = Utumaji ambao mpokeaji aliukataa au hakupatikana baada ya majaribio yote (20 za karibuni). Zote:

## Routers, locations, packages
ar-title = Ruta na mawakala
ar-enrolled = Ruta { $name } imesajiliwa
ar-copy-password = Nakili hili sasa: nenosiri linaonyeshwa mara moja tu.
ar-mqtt-user = Jina la mtumiaji la MQTT (kitambulisho cha wakala)
ar-mqtt-password = Nenosiri la MQTT
ar-broker = Broker
ar-code-for = Msimbo wa usajili wa { $router }
ar-copy-code = Nakili hili sasa: msimbo unaonyeshwa mara moja tu.
ar-on-device = Kwenye kifaa:
ar-agent-id = Kitambulisho cha wakala
ar-expires = Unaisha
ar-catalog-now = Toleo la katalogi sasa:
ar-catalog = Katalogi
ar-pending = Zinasubiri
ar-overrides = Hatua za dharura
ar-none = hakuna
ar-behind = imechelewa
ar-disable-all = Zima zote
ar-logout-all = Toa wote
ar-revoke = Futa usajili
ar-enrollment-code = Msimbo wa usajili
ar-enroll-title = Sajili ruta
ar-public-key-help = Ufunguo wa umma wa wakala (hex); acha wazi ili kusajili kifaa kwa msimbo wa matumizi moja (kitufe cha Msimbo wa usajili cha ruta)
ar-enroll = Sajili
ar-locations = Matawi
ar-frozen-by = mauzo yamesimamishwa na { $who }
ar-allow-dispensing = Ruhusu mauzo
ar-freeze = Simamisha mauzo
ar-settings = Mipangilio
ar-time-zone = Saa za eneo
ar-add-location = Ongeza tawi
ar-packages = Vifurushi
ar-slug = Kitambulisho
ar-data = Data
ar-rate = Kasi
ar-shared = Wanaoshiriki
ar-valid = Inatumika kwa
ar-on-sale = kinauzwa
ar-retired = kimestaafishwa
ar-edit = Hariri
ar-slug-help = Kitambulisho (herufi, tarakimu, vistari)
ar-price-help = Bei (kwa vipimo vya sarafu, mfano 5.00)
ar-currency = Sarafu (ISO 4217)
ar-add-package = Ongeza kifurushi na ukitume kwa ruta zote

## Audit log and event log
log-audit = Kumbukumbu za ukaguzi
log-events = Kumbukumbu za matukio
log-events-ledger = Kumbukumbu za matukio (daftari la vocha)
log-time = Saa (UTC)
log-event = Tukio
log-action = Kitendo
log-token = Vocha
log-target = Kilicholengwa
log-detail = Maelezo
log-nothing = Hakuna kilichoandikwa.
log-newer = Mpya zaidi
log-older = Za zamani zaidi

## One package
pk-title = Kifurushi { $name }
pk-profile = Wasifu
pk-help = bei kwa { $currency }. Kuhifadhi kunatuma katalogi kwa ruta zote;
pk-routers-page = ukurasa wa ruta
pk-help-end = unaonyesha zipi zimeipokea. Vocha zilizokwisha uzwa zinabaki na bei ya mauzo yake.
pk-time-limit = Kikomo cha muda (dakika)
pk-data-limit = Kikomo cha data (MB)
pk-rate-limit = Kikomo cha kasi (mfano 2M/5M)
pk-shared-users = Watumiaji kwa pamoja
pk-valid-for = Inatumika kwa (saa baada ya kuingia mara ya kwanza)
pk-lock-to-mac = Funga kwa kifaa cha kwanza (kila vocha itakayouzwa kuanzia sasa itafanya kazi tu kwenye kifaa cha kwanza kuingia nayo)
pk-on-sale = Kinauzwa (ondoa alama ili kukistaafisha)
pk-save = Hifadhi na utume kwa ruta zote

## Location settings
lo-title = Mipangilio ya { $name }
lo-settings = mipangilio
lo-cash-threshold = Tofauti ya fedha inayotoa tahadhari
lo-cash-threshold-zero = 0: tofauti yoyote
lo-refund-approval = Marejesho ambayo mhudumu anaweza kutoa bila meneja
lo-refund-approval-zero = 0: kila marejesho yanahitaji meneja
lo-close-time = Saa ya kufunga kila siku (HH:MM, saa za eneo)
lo-time-zone = Saa za eneo (mfano Africa/Nairobi, au +03:00)
lo-save = Hifadhi

## Confirming a drastic action
cf-title = Thibitisha
cf-help = Hili linatekelezwa mara moja na kuandikwa kwenye kumbukumbu za ukaguzi kwa jina lako.
cf-type = Andika
cf-to-confirm = ili kuthibitisha
cf-router = Ruta
cf-location = Tawi
cf-disable-all = Zima kila vocha kwenye ruta hii
cf-logout-all = Toa kila mtu kwenye ruta hii
cf-revoke = Futa usajili wa wakala wa ruta hii
cf-freeze = Simamisha mauzo kwenye tawi hili
cf-thaw = Ruhusu mauzo tena kwenye tawi hili
cf-name-mismatch = Jina uliloandika halilingani; hakuna kilichofanyika.
cf-word-and-reason = Andika neno lililoonyeshwa na utoe sababu; hakuna kilichofanyika.

## Agent releases
rl-title = Matoleo ya wakala
rl-roll-out = Sambaza { $version }
rl-release = Toleo
rl-for = la
rl-goes-to = linakwenda kwa
rl-percent-of = { $percent }% ya ruta:
rl-routers = ruta.
rl-confirm-help = Kila moja inatumiwa amri ya kusasisha mara moja, au itakaporudi mtandaoni. Hili linaandikwa kwenye kumbukumbu za ukaguzi kwa jina lako.
rl-none-in-percent = Bado hakuna ruta katika asilimia hii.
rl-signed-offline = Matoleo yanatiwa saini nje ya mtandao kwa
rl-no-key-held = seva haishiki kamwe ufunguo wa kutia saini matoleo.
rl-checked = Yanayopakiwa yanakaguliwa kwa ufunguo wa umma wa matoleo ulio kwenye
rl-unchecked = Seva haina ufunguo wa umma wa matoleo
rl-unchecked-end = kwa hiyo inahifadhi yanayopakiwa bila kuyakagua; kila wakala hukagua saini kabla ya kusakinisha.
rl-versions-only = Ruta zinaripoti toleo la wakala wao lakini si aina ya kifaa, kwa hiyo hesabu zilizo hapa chini zinalinganisha matoleo tu.
rl-bytes = baiti { $n }
rl-uploaded-col = Imepakiwa
rl-uploaded-by = { $when } na { $who }
rl-counts = { $current } zinaliendesha · { $older } zinaendesha toleo la zamani · { $unknown } hazijulikani, kati ya { $routers }
rl-behind = Zilizochelewa
rl-version-unknown = toleo halijulikani
rl-offline = nje ya mtandao
rl-commands = Amri za usambazaji
rl-not-rolled-out = Bado halijasambazwa.
rl-percent-label = Asilimia ya ruta (1–100)
rl-agents-label = au vitambulisho vya mawakala, vikitenganishwa kwa koma au nafasi
rl-roll-out-button = Sambaza…
rl-no-releases = Bado hakuna toleo lililopakiwa.
rl-upload-title = Pakia toleo
rl-binary = Programu ya wakala
rl-version-label = Toleo (KUU.NDOGO.MAREKEBISHO)
rl-target = Aina ya kifaa
rl-signature = Saini (hex,
rl-from = kutoka
rl-upload = Pakia
rl-uploaded = Toleo { $version } limepakiwa.
rl-rolling-out = Toleo { $version } linasambazwa.
rl-version-mismatch = Toleo uliloandika halilingani; hakuna kilichofanyika.

## Users
us-user = Mtumiaji
us-role = Nafasi
us-locations = Matawi
us-change = Badilisha
us-active = hai
us-end-sessions = Maliza vipindi
us-new-password = Nenosiri jipya
us-new-password-for = Nenosiri jipya la { $name }
us-reset-password = Weka nenosiri jipya
us-location-of = Tawi la { $name }
us-language-of = Lugha ya { $name }
us-none = hakuna
us-set-location = Weka tawi
us-set-language = Weka lugha
us-new-user = Mtumiaji mpya
us-password-help = Nenosiri (angalau herufi 8)
us-create = Unda
us-created = Mtumiaji { $name } ameundwa.
us-sessions-ended = Vipindi { $n } vya { $name } vimemalizwa.
us-updated = Mtumiaji { $name } amesasishwa.
us-not-yourself = Huwezi kuzima akaunti yako mwenyewe.

## Alert kinds
alert-kind-rogue_token = Vocha isiyotolewa na mtm
alert-kind-tampered_token = Vocha iliyochezewa
alert-kind-reused_token = Vocha iliyotumika tena
alert-kind-cash_short = Upungufu wa fedha
alert-kind-cash_over = Ziada ya fedha
alert-kind-dispense_outside_shift = Mauzo nje ya zamu
alert-kind-dispense_wrong_location = Mauzo kwenye tawi lingine
alert-kind-router_silent = Ruta haijaripoti
alert-kind-witness_mismatch = Shahidi wa vituo vya ukaguzi hakubaliani

## Alert summaries (arguments as raised; $router is the router's agent id)
alert-msg-tampered = vocha { $code } kwenye ruta { $router } inatofautiana na daftari: { $fields }
alert-msg-rogue-user = mtumiaji wa hotspot { $user } kwenye ruta { $router } hakutolewa na mtm ({ $reason })
alert-msg-rogue-session = kipindi cha { $user } kwenye ruta { $router } hakina vocha iliyotolewa ({ $reason })
alert-msg-rogue-logged = ruta { $router } ilirekodi kipindi cha { $user }, ambacho mtm haikutoa ({ $reason })
alert-msg-rogue-in-use = mtumiaji wa hotspot { $user } kwenye ruta { $router } anatumika lakini hakutolewa na mtm ({ $reason })
alert-msg-counters-reset = vihesabu vya vocha { $code } vilirudishwa sifuri kwenye ruta { $router }
alert-msg-beyond-package = vocha { $code } ilitumika zaidi ya kifurushi chake { $package }
alert-msg-beyond-validity = vocha { $code } ilitumika baada ya muda wake wa uhalali kwisha
alert-msg-after-end = vocha { $code } ilitumika kwenye ruta { $router } baada ya kuwa { $state }
alert-msg-cash-short = upungufu wa fedha wa { $amount } wakati wa kufunga zamu
alert-msg-cash-over = ziada ya fedha ya { $amount } wakati wa kufunga zamu
alert-msg-dispense-no_open_shift = mauzo yamekataliwa: hakuna zamu iliyo wazi
alert-msg-dispense-shift_at_other_location = mauzo yamekataliwa: zamu iko kwenye tawi lingine
alert-msg-dispense-not_a_location_of_staff = mauzo yamekataliwa: mfanyakazi hafanyi kazi kwenye tawi hili
alert-msg-router-silent = ruta { $router } haijaripoti kwa sekunde { $seconds } wakati wa zamu iliyo wazi
alert-msg-router-never-reported = ruta { $router } haijawahi kuripoti, wakati wa zamu iliyo wazi
alert-msg-witness-missing = { $chain }: safu { $from }–{ $to } hazipo: hifadhidata inaishia safu { $last }, lakini kituo cha ukaguzi kilichosainiwa { $signed } ({ $source }) kinahesabu safu { $to }; imekatwa, au imerudishwa kutoka nakala ya zamani
alert-msg-witness-missing-older = { $chain }: safu { $from }–{ $to } hazipo: hifadhidata inaishia safu { $last }, lakini kituo cha ukaguzi kilichosainiwa { $signed } ({ $source }) kinahesabu safu { $to }; kichwa chake ni kile kilichoshuhudiwa { $older }: imerudishwa kutoka nakala ya wakati huo?
alert-msg-witness-forked = { $chain }: historia imegawanyika kwenye safu { $row } au kabla yake: safu ya hifadhidata ina alama { $found }…, lakini kituo cha ukaguzi kilichosainiwa { $signed } ({ $source }) kinasema { $said }…
alert-msg-witness-unverified = kituo cha ukaguzi kutoka { $source } hakiaminiki: { $why }
alert-duty-nobody = bila mtu yeyote kazini
alert-duty-one = wakati { $name } alikuwa zamuni
alert-duty-many = wakati { $names } walikuwa zamuni
alert-reason-no_mtm_comment = hakuna maelezo ya mtm
alert-reason-malformed_mtm_comment = maelezo ya mtm yenye kasoro
alert-reason-unknown_token = vocha isiyojulikana
alert-reason-code_mismatch = msimbo wa vocha nyingine
alert-reason-token_for_another_router = vocha ya ruta nyingine
alert-reason-trial_session = kuingia kwa majaribio
alert-reason-session_without_user = kipindi bila mtumiaji
alert-reason-seen_in_router_log = imeonekana kwenye kumbukumbu ya ruta

## Refusals of typed input (shown over the form; the API answers the English)
err-in-field = { $field }: { $error }
err-no-location = hujapangiwa tawi lolote
err-choose-location = chagua tawi
err-clock-in-first = anza zamu kwanza: hakuna zamu iliyo wazi kwenye tawi lako
err-batch-count = idadi lazima iwe kati ya 1 na { $max }
err-not-a-currency = "{ $code }" si msimbo wa sarafu wa ISO 4217 (k.m. USD, KES, XOF)
err-whole-number = andika namba kamili
err-whole-number-up-to = andika namba kamili hadi { $max }
err-shift-already-open = zamu yako tayari iko wazi
err-zone-bad-name = saa za eneo "{ $name }" si UTC, tofauti maalum kama +01:00, wala jina kama Africa/Nairobi
err-zone-unknown = saa za eneo "{ $name }" hazipo kwenye hifadhidata ya maeneo
money-empty = weka kiasi
money-not-a-number = "{ $text }" si kiasi: andika tarakimu, na nukta kwa desimali, k.m. { $example }
money-too-many-decimals = { $currency } ina nafasi { $max } za desimali; "{ $text }" ina zaidi
money-negative = kiasi hakiwezi kuwa hasi
money-too-large = kiasi ni kikubwa mno

## Refusals of forms: releases, enrollment, reports, after-sales, channels, the store
err-username-length = jina la mtumiaji lina herufi 1 hadi { $max }
err-username-characters = jina la mtumiaji linatumia herufi a-z, tarakimu na alama za uakifishaji za ASCII tu (bila nafasi)
err-password-length = nenosiri lina herufi { $min } hadi { $max }
err-password-spaces = nenosiri haliwezi kuwa nafasi tupu tu
err-password-run = nenosiri haliwezi kuwa herufi moja inayorudiwa wala mfuatano wa vitufe vya kibodi
err-password-common = nenosiri hilo ni mojawapo ya yale yanayotumika sana; chagua jingine
err-password-username = nenosiri haliwezi kuwa jina la mtumiaji
err-alert-note-required = maelezo yanahitajika ili kutatua
err-alert-resolved = tahadhari tayari imetatuliwa
err-unknown-action = kitendo kisichojulikana
err-as-reason = toa sababu
err-as-reason-long = sababu ni ndefu kuliko herufi { $max }
err-as-refund-only-void = ni kubatilisha tu kunakorudisha pesa
err-as-extension-too-large = nyongeza hiyo ni kubwa mno
err-as-extend-nothing = ongeza muda au data
err-as-replace-code = kubadilisha kunahitaji msimbo mpya
err-as-refund-above-price = marejesho ni zaidi ya bei ambayo vocha iliuzwa
err-as-note-long = maelezo ni marefu kuliko herufi { $max }
err-as-decided = ombi hili tayari limeamuliwa
err-as-no-time-limit = vocha hii haina kikomo cha muda cha kuongeza
err-as-no-data-limit = vocha hii haina kikomo cha data cha kuongeza
err-as-router-not-enrolled = ruta ya vocha haijasajiliwa (isajili, au badilisha iliyobatilishwa)
err-approve-or-reject = idhinisha au kataa
err-enroll-ttl = muda wa uhai wa msimbo (ttl_s) lazima uwe kati ya sekunde { $min } na { $max }
err-revoke-broker = imebatilishwa ndani ya mtm (ujumbe wake unakataliwa), lakini broker haikuondoa kuingia kwake: { $reason }; batilisha tena broker itakapojibu
err-router-broker-login = ruta { $router } imeundwa, lakini broker ya MQTT haikupokea kuingia kwake: { $reason }; isajili kwa msimbo wa mara moja broker itakapojibu
err-channel-name = ipe njia jina lisilozidi herufi 100
err-channel-kind = aina lazima iwe webhook, telegram, ntfy au email
err-channel-email = njia ya barua pepe inahitaji anwani moja ya barua pepe
err-channel-url = lengo lazima liwe URL
err-channel-http-url = lengo lazima liwe URL ya http(s) isiyozidi herufi 2000
err-channel-chat-id = njia ya Telegram inahitaji kitambulisho cha mazungumzo (chat id)
err-channel-severity = uzito wa chini lazima uwe info, warning au critical
err-channel-location = tawi hilo halipo
err-date = tarehe "{ $date }" haipo au haiko katika muundo YYYY-MM-DD
err-form-too-large = fomu ni kubwa mno
err-unknown-language = lugha isiyojulikana "{ $code }"
err-frozen = uuzaji umesimamishwa kwenye tawi hili na msimamizi: { $reason }
err-release-key-file = { $file } kwenye folda ya matoleo haina ufunguo wa umma (hex)
err-release-empty = faili la programu ni tupu
err-release-version = toleo "{ $version }" si la muundo MAJOR.MINOR.PATCH (k.m. 1.2.3)
err-release-target = aina ya kifaa lazima iwe kama aarch64-linux
err-release-signature-hex = saini lazima iwe baiti 64 kwa hex
err-release-bad-signature = saini hailingani na ufunguo wa matoleo: tia saini faili hili kwa toleo hili na aina hii ya kifaa
err-release-no-agent = hakuna ruta yenye kitambulisho cha wakala "{ $agent }"
err-release-percent-or-agents = toa asilimia (1-100) au orodha ya vitambulisho vya mawakala isiyo tupu
err-upload-unreadable = faili lililopakiwa halikuweza kusomwa: { $reason }
err-upload-choose-binary = chagua faili la programu ya wakala la kupakia
err-rollout-percent = asilimia lazima iwe namba kamili kutoka 1 hadi 100
err-rollout-either = toa asilimia au vitambulisho vya mawakala, si vyote viwili wala hakuna kimojawapo
err-close-time = saa ya kufunga lazima iwe katika muundo HH:MM (00:00-23:59), imepokelewa "{ $time }"
err-report-not-intact = ripoti hii hailingani na alama yake ya hashi
err-report-signed-off = ripoti tayari imeidhinishwa
err-not-your-location = hujapangiwa tawi hili
err-no-open-shift = hakuna zamu iliyo wazi
err-no-enrolled-router = tawi hili halina ruta iliyosajiliwa (isajili, au badilisha iliyobatilishwa)
err-close-shift-why = eleza kwa nini zamu inafungwa kwa niaba ya mhudumu
err-shift-closed = zamu tayari imefungwa
err-user-exists = mtumiaji tayari yupo (kama { $existing })
err-agent-id = kitambulisho cha wakala lazima kiwe herufi 1-64 za ASCII, tarakimu, - au _
err-key-format = ufunguo lazima uwe na herufi 64 za hex
err-key-invalid = si ufunguo halali wa umma wa ed25519
err-package-fields = kifurushi kinahitaji jina fupi (a-z, 0-9, -), jina, bei >= 0 na sarafu ya herufi 3
err-package-name = kifurushi kinahitaji jina (hadi herufi { $max })
err-shared-users-range = lazima iwe kati ya 1 na { $max }
err-text-too-long = zaidi ya herufi { $max }
err-amount-range = lazima iwe kati ya 0 na { $max } kwa vipande vidogo (senti)
err-duration-range = haiwezi kuzidi miaka kumi
err-data-range = haiwezi kuzidi petabaiti moja (MB 1,000,000,000)
err-amounts-overflow = jumla ya kiasi inazidi kinachoweza kuhesabiwa
err-location-fields = jina na saa za eneo vinahitajika
err-exists-user = mtumiaji huyo tayari yupo
err-exists-user-location = mtumiaji huyo tayari amepangiwa tawi hilo
err-exists-router = ruta hiyo tayari ipo (jina au kitambulisho cha wakala kimeshatumika)
err-exists-package = kifurushi hicho tayari kipo
err-exists-location = tawi hilo tayari lipo
err-exists-enrollment-code = msimbo huo wa usajili tayari upo
noun-user = mtumiaji
noun-user-location = tawi la mtumiaji
noun-router = ruta
noun-package = kifurushi
noun-location = tawi
noun-enrollment-code = msimbo wa usajili
err-refers-to-nothing = fomu inarejelea kitu ambacho hakipo tena ({ $what })
err-as-not-allowed = { $kind ->
        [void] vocha iliyo katika hali ya "{ $state }" haiwezi kubatilishwa
        [replace] vocha iliyo katika hali ya "{ $state }" haiwezi kubadilishwa
        [extend] vocha iliyo katika hali ya "{ $state }" haiwezi kuongezewa
        [reprint] vocha iliyo katika hali ya "{ $state }" haiwezi kuchapishwa tena
        [disable] vocha iliyo katika hali ya "{ $state }" haiwezi kuzimwa
       *[enable] vocha iliyo katika hali ya "{ $state }" haiwezi kuwashwa
    }

## E-mails and notices
mail-kind = aina
mail-severity = uzito
mail-location = tawi
mail-router = ruta
mail-raised-at = ilitolewa
mail-alert-id = kitambulisho cha tahadhari
mail-alert-open = Fungua /manager/alerts ili kuipokea.
mail-report-tag = ripoti ya mtm
mail-report-id = kitambulisho cha ripoti
mail-report-open = Fungua { $path } ili kuisoma na kuiidhinisha.
mail-report-summary = Ripoti ya siku { $date }, { $location }: vocha { $vouchers }, { $expected } zinazotarajiwa, tofauti ya fedha { $variance }, tahadhari { $alerts }
mail-report-unreadable = Ripoti ya siku { $date } (ifungue usome takwimu)
mail-ntfy-report = ripoti ya kila siku ya mtm
mail-ntfy-alert = tahadhari ya mtm: { $severity }

# Pages of a long list.
page-next = Ukurasa unaofuata
page-previous = Ukurasa uliotangulia
md-vouchers-shown = Vocha { $first } hadi { $last } kati ya { $total } zinaonyeshwa; CSV ina zote.
