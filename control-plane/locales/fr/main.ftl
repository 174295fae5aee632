# Les textes de mtm en français. Les clés sont celles du fichier anglais (en/main.ftl).
# Vocabulaire : voucher = ticket ; staff = employé ; shift = service ; float = fond de caisse.

## Layout and navigation
nav-vouchers = Tickets
nav-batch = Lot
nav-overview = Vue d'ensemble
nav-alerts = Alertes
nav-reports = Rapports
nav-after-sales = Après-vente
nav-notifications = Notifications
nav-admin = Administration
nav-routers = Routeurs
nav-releases = Versions
nav-users = Utilisateurs
nav-log-out = Se déconnecter
role-staff = employé
role-manager = gérant
role-super_admin = super-administrateur
lang-label = Langue
lang-browser = Langue du navigateur
lang-set = Appliquer

## Words used on many pages
back = Retour
back-to-vouchers = Retour aux tickets
cancel = Annuler
none-yet = Aucun pour l'instant.
none = Aucun.
nothing-yet = Rien pour l'instant.
yes = oui
no = non
never = jamais
all = tous
col-time = Heure
col-code = Code
col-package = Forfait
col-price = Prix
col-state = État
col-location = Site
col-router = Routeur
col-agent = Agent
col-online = En ligne
col-last-seen = Vu pour la dernière fois
col-when = Quand
col-what = Quoi
col-who = Qui
col-by = Par
col-reason = Motif
col-refund = Remboursement
col-voucher = Ticket
col-staff = Employé
col-name = Nom
col-kind = Type
col-issued = Émis
col-used = Utilisés
col-unused = Inutilisés
col-expected = Attendu
col-confirmed = Confirmé
col-variance = Écart
col-alerts = Alertes
col-version = Version
col-attempts = Tentatives
col-last-error = Dernière erreur
col-alert = Alerte
col-channel = Canal
reason = Motif
note = Note
size-58 = 58 mm
size-80 = 80 mm
unit-days = { $n } j
unit-hours = { $n } h
unit-minutes = { $n } min
unit-under-a-minute = moins d'une minute

## Voucher states
state-issued = émis
state-applied = sur le routeur
state-in_use = en cours d'utilisation
state-used_up = épuisé
state-expired = expiré
state-disabled = désactivé
state-removed = supprimé
state-unused = inutilisé
token-sent = envoyé au routeur
token-waiting = en attente du routeur
token-active = actif sur le routeur
token-offline-note = Le routeur est hors ligne ; le ticket sera créé à sa reconnexion.

## Log in
login-title = Connexion
login-username = Nom d'utilisateur
login-password = Mot de passe
login-ended = Votre session a pris fin (elle a expiré, vous vous êtes déconnecté ou un administrateur l'a terminée). Reconnectez-vous pour continuer.
login-wrong = Nom d'utilisateur ou mot de passe incorrect.
login-too-many = trop de tentatives ; réessayez plus tard
login-busy = le serveur est occupé ; réessayez dans un instant
login-foreign = Cette connexion ne vient pas de la page de ce site.

## Error pages
error-back = Retour à votre page d'accueil
error-expired-title = Ce formulaire a expiré
error-expired-advice = La page est restée ouverte trop longtemps ou vient d'une ancienne connexion. Rechargez-la et envoyez de nouveau le formulaire.
error-forbidden-title = Accès refusé
error-forbidden-advice = Le rôle de votre compte ne donne pas accès à cette page. Demandez à un gérant ou à l'administrateur si vous en avez besoin.
error-not-found-title = Introuvable
error-not-found-advice = Il n'y a rien à cette adresse, ou vous n'avez pas le droit de le voir. Le lien est peut-être ancien ou mal saisi.
error-internal-title = Une erreur est survenue
error-internal-advice = Le serveur n'a pas pu terminer et en a noté la raison. Réessayez ; si cela se reproduit, indiquez l'heure à votre administrateur.

## Counter: clock in, sell, clock out
clock-in = Prendre son service
clock-in-intro = Comptez l'argent dans la caisse et prenez votre service pour commencer à vendre des tickets.
opening-float = Fond de caisse
sell-title = Vendre un ticket
sell-shift-open = Service ouvert depuis { $since } UTC · aujourd'hui : { $count ->
        [one] { $count } ticket
       *[other] { $count } tickets
    }, { $revenue }
sell-no-packages = Aucun forfait pour l'instant. Demandez à un administrateur d'en créer un.
sell-my-vouchers = Mes tickets du jour
clock-out = Terminer son service
clock-out-cash = Argent dans la caisse maintenant

## One voucher
voucher-title = Ticket { $code }
voucher-password = Mot de passe
voucher-mac-bound = Lié à l'appareil { $mac }
voucher-mac-unbound = Se lie au premier appareil qui s'y connecte
voucher-qr-login = Code QR pour se connecter
voucher-log-in-at = Connectez-vous sur { $url }
voucher-print-58 = Imprimer 58 mm
voucher-after-sales = Après-vente : annuler, remplacer, prolonger, réimprimer, désactiver

## Printed vouchers
print-title-one = Imprimer le ticket { $code }
print-title-many = Imprimer { $n } tickets
print-now = Imprimer
print-made = { $n } tickets faits sur { $asked }.
print-reprint = RÉIMPRESSION { $n }
print-qr-check = Code QR pour voir le temps et les données restants
print-scan-check = Scannez pour voir votre temps et vos données restants
print-issued = Émis à { $time } UTC

## Customer self-check
check-title = Votre ticket Wi-Fi
check-time-left = Temps restant
check-data-left = Données restantes
check-valid-until = Valable jusqu'au
check-unused = Pas encore utilisé : votre temps commence à votre première connexion.
check-as-of = Selon le dernier relevé du routeur ; il peut avoir quelques minutes de retard.
check-invalid = Ce code ne fonctionne pas : il est peut-être mal saisi, épuisé ou expiré. Renseignez-vous au comptoir.
check-limited = Trop de vérifications depuis ce réseau. Réessayez dans quelques minutes.
check-code = Code du ticket
check-submit = Vérifier
check-from-first-login = { $duration } à partir de votre première connexion
check-no-end = sans date de fin
check-no-limit = illimité

## Alerts and their words
severity-critical = critique
severity-warning = avertissement
severity-info = information
alert-state-open = ouverte
alert-state-acknowledged = prise en compte
alert-state-resolved = résolue
al-open = Ouvertes
al-acknowledged = Prises en compte
al-resolved = Résolues
al-all = Toutes
al-shown = Les alertes { $first } à { $last } sur { $total } sont affichées ; le CSV les contient toutes.
al-who-on_duty = en service
al-who-staff = employé
al-nobody = personne n'était en service
al-evidence = Preuves
al-note-by = Note ({ $who })
al-note-required = Écrivez une note pour résoudre une alerte : ce qui a été constaté ou fait.
al-note-placeholder = Note (obligatoire pour résoudre)
al-acknowledge = Prendre en compte
al-resolve = Résoudre
al-none = Aucune alerte ici.

## Routers overview
col-sessions = Sessions
col-pending-commands = Commandes en attente
no-routers = Aucun routeur enregistré.
latest-vouchers = Derniers tickets
intact = intact

## After-sales
as-title = Après-vente : ticket
as-sold = vendu le { $at }
as-now = maintenant
as-printed-again = réimprimé { $n } fois
as-reprint = Réimprimer
as-reprint-help = Même code, marqué comme réimpression sur le ticket.
as-reprint-example = imprimante bloquée
as-extend = Prolonger
as-minutes-to-add = Minutes à ajouter
as-mb-to-add = Mégaoctets à ajouter
as-extend-example = connexion coupée pendant 20 minutes
as-disable = Désactiver
as-disable-help = L'arrête sur le routeur et déconnecte ses sessions, jusqu'à sa réactivation.
as-enable = Activer
as-replace = Remplacer
as-replace-help = Retire ce ticket du routeur et en crée un nouveau du même forfait ; la vente passe sur le nouveau ticket.
as-replace-example = le client ne peut pas se connecter
as-void = Annuler
as-void-help = Le retire définitivement du routeur. L'argent rendu est enregistré comme remboursement sur votre caisse
as-void-help-staff = ; au-delà de la limite du site, un gérant doit d'abord l'approuver
as-void-example = le client a changé d'avis
as-history = Historique
as-new-voucher = nouveau ticket
as-back = Retour au ticket
as-kind-void = annulation
as-kind-replace = remplacement
as-kind-extend = prolongation
as-kind-reprint = réimpression
as-kind-disable = désactivation
as-kind-enable = activation
as-state-requested = demandé
as-state-done = fait
as-state-rejected = refusé
as-waiting = Remboursements en attente d'approbation
as-asked = Demandé
as-note-placeholder = note
as-approve = Approuver
as-reject = Refuser
as-recent = Récents
as-notice-requested = Le remboursement dépasse ce que vous pouvez rendre seul : un gérant a été invité à l'approuver.
as-notice-done = C'est fait. Le routeur reçoit le changement tout de suite (ou à son retour en ligne).
as-give-reason = Indiquez un motif : il est inscrit au journal d'audit.

## Notification channels
nt-intro = Les nouvelles alertes arrivent sur ces canaux en quelques secondes, une seule fois, avec de nouvelles tentatives si le destinataire est indisponible. Les webhooks sont signés :
nt-created = Canal « { $name } » ajouté. Son secret de signature, affiché uniquement maintenant :
nt-target = Destination
nt-from-severity = À partir de la gravité
nt-daily-report = Rapport quotidien
nt-remove = Supprimer
nt-no-channels = Aucun canal pour l'instant.
nt-add-title = Ajouter un canal
nt-kind-webhook = Webhook (JSON signé ; Slack, passerelles WhatsApp, le vôtre)
nt-kind-telegram = Bot Telegram
nt-kind-ntfy = Sujet ntfy
nt-kind-email = E-mail
nt-target-help = Destination (URL du webhook ; Telegram : https://api.telegram.org/bot<jeton> ; ntfy : https://ntfy.sh/<sujet> ; e-mail : l'adresse)
nt-chat-id = Identifiant de discussion Telegram (Telegram seulement)
nt-dead-report = rapport quotidien du { $date }
nt-also-daily = Aussi le résumé du rapport quotidien du ou des sites
nt-add = Ajouter le canal
nt-failed = Échecs définitifs

## Manager overview
mg-all-today = Tous les sites aujourd'hui
mg-daily-reports = Rapports quotidiens
mg-routers-online = routeurs en ligne
mg-offline = { $n } hors ligne
mg-users-online = utilisateurs connectés
mg-vouchers-today = tickets aujourd'hui ({ $used } utilisés, { $unused } inutilisés)
mg-expected-confirmed = attendus, { $confirmed } confirmés
mg-open-alerts = alertes ouvertes
mg-routers-on-off = Routeurs en ligne/hors ligne
mg-users-now = Utilisateurs connectés
mg-no-locations = Aucun site pour l'instant.
mg-updated = Mis à jour à { $time } UTC ; actualisé toutes les 5 s.

## One location or staff member today
md-today = { $title } : aujourd'hui
md-all-locations = Tous les sites
md-vouchers = tickets ({ $used } utilisés, { $unused } inutilisés)
md-expected = attendus
md-confirmed = confirmés en fin de service
md-not-counted = pas encore comptés
md-variance = écart de caisse (services clos)
md-nobody-sold = Personne n'a rien vendu aujourd'hui.
md-raised = Levée
md-no-staff-alerts = Aucune alerte ne concerne cet employé.
md-open-shifts = Services ouverts
md-opened = Ouvert
md-open-for = Ouvert depuis
md-float = Fond de caisse
md-forgotten = oublié ?
md-close-for-staff = Clore pour l'employé
md-no-open-shifts = Aucun service ouvert.
md-shifts = Services
md-closed = Clos
md-still-open = ouvert
md-expected-cash = Caisse attendue
md-declared = Déclaré
md-no-shifts = Aucun service aujourd'hui.
md-none-today = Aucun aujourd'hui.
chart-issued-per-hour = Tickets émis par heure
chart-traffic = Trafic de ces tickets (Mo)
chart-max = max { $max }

## Daily reports
rp-title = Rapports de rapprochement quotidiens
rp-show = Afficher
rp-day = Jour
rp-check = Contrôle
rp-signed-off = Validé
rp-altered = modifié
rp-not-yet = pas encore
rp-none = Aucun rapport pour l'instant : le rapport d'un site est établi après la clôture de sa journée.
rp-report = Rapport du { $date }
rp-all = Tous les rapports
rp-altered-warning = Ce rapport ne correspond plus à son empreinte : il a été modifié après sa création.
rp-issued = émis ({ $applied } sur les routeurs, { $not_applied } jamais appliqués)
rp-used = utilisés ({ $used_up } épuisés, { $expired } expirés, { $unused } inutilisés)
rp-variance = écart de caisse
rp-open-shifts = { $n } service(s) encore ouvert(s)
rp-alerts = alertes ce jour-là
rp-as-counts = { $voided } annulé(s), { $replaced } remplacé(s), { $extended } prolongé(s), { $reprinted } réimprimé(s), { $disabled } désactivé(s), { $enabled } activé(s) ; { $refunded } remboursés
rp-as-moved = { $moved } reportés sur des remplacements
rp-as-requested = { $n } remboursement(s) en attente d'un gérant
rp-as-rejected = { $n } refusé(s)
rp-signed-off-by = Validé par { $who } à { $time } UTC
rp-what-checked = Ce que vous avez vérifié
rp-sign-off = Valider
rp-whole = Le rapport complet

## Closing a shift for staff
cs-title = Clore le service
cs-heading = Clore le service de { $staff }
cs-opened = Ouvert à { $time } UTC avec un fond de caisse de { $float }
cs-closed-already = déjà clos
cs-help = Comptez la caisse et saisissez son contenu : l'écart est calculé comme en fin de service, une caisse dont l'écart dépasse le seuil du site lève une alerte, et votre note est inscrite au journal d'audit.
cs-cash-counted = Argent compté
cs-note = Note (obligatoire)
cs-close = Clore le service

## Batch of vouchers
batch-title = Lot de tickets
batch-heading = Lot pour stock pré-imprimé
batch-clock-in-first = Prenez d'abord votre service sur la
batch-vouchers-page = page des tickets
batch-help = Chaque ticket est émis et envoyé au routeur comme un ticket vendu au comptoir, et compte dans la caisse de ce service.
batch-how-many = Combien (de 1 à { $max })
batch-make = Créer et imprimer
batch-page-title = Lot de { $n } tickets
batch-on-router = { $on } sur { $total } sur le routeur
batch-all-on-router = Les { $total } tickets sont tous sur le routeur.
batch-print = Imprimer
batch-print-help = Chaque partie s'imprime en feuilles A4 ou en bandes pour imprimante thermique.
batch-part = Tickets { $from } à { $to }
batch-print-a4 = Feuilles A4
print-part = Tickets { $from } à { $to } sur { $total }

## Admin home
ad-routers-link = Routeurs, sites, forfaits
ad-database = Base de données
ad-size = Taille
ad-connections = Connexions
ad-agents-online = Agents en ligne
ad-commands-open = Commandes pas encore confirmées
ad-rows = { $n } lignes
ad-chains = Journal d'audit et registre des tickets
ad-chain = Chaîne
ad-rows-col = Lignes
ad-result = Résultat
ad-broken-at = rompue à la ligne { $row }
ad-verify = Vérifier les chaînes
ad-settings = Paramètres du système
ad-settings-help = Définis dans le fichier de configuration du serveur ou les variables MTM_* (voir control-plane/README.md) ; les paramètres propres à un site sont sur sa page de paramètres.
ad-mqtt = MQTT pour les agents
ad-public-key = Clé publique du serveur central
ad-code-length = Longueur des codes de ticket
ad-login-url = URL de connexion du hotspot sur les tickets
ad-not-set = non définie
ad-secure-cookies = Cookies sécurisés et HSTS (derrière TLS)
ad-on = activés
ad-off = désactivés
ad-dead-title = Notifications en échec définitif
ad-dead-help = Envois que le destinataire a refusés ou qui n'ont pu l'atteindre après toutes les tentatives (les 20 plus récents). Tous :

## Routers, locations, packages
ar-title = Routeurs et agents
ar-enrolled = Routeur { $name } enregistré
ar-copy-password = Copiez ceci maintenant : le mot de passe n'est affiché qu'une fois.
ar-mqtt-user = Nom d'utilisateur MQTT (identifiant de l'agent)
ar-mqtt-password = Mot de passe MQTT
ar-broker = Broker
ar-code-for = Code d'enregistrement pour { $router }
ar-copy-code = Copiez ceci maintenant : le code n'est affiché qu'une fois.
ar-on-device = Sur l'appareil :
ar-agent-id = Identifiant de l'agent
ar-expires = Expire
ar-catalog-now = Version actuelle du catalogue :
ar-catalog = Catalogue
ar-pending = En attente
ar-overrides = Interventions
ar-none = aucune
ar-behind = en retard
ar-disable-all = Tout désactiver
ar-logout-all = Tout déconnecter
ar-revoke = Révoquer
ar-enrollment-code = Code d'enregistrement
ar-enroll-title = Enregistrer un routeur
ar-public-key-help = Clé publique de l'agent (hex) ; laissez vide pour enregistrer l'appareil avec un code à usage unique (bouton Code d'enregistrement du routeur)
ar-enroll = Enregistrer
ar-locations = Sites
ar-frozen-by = vente gelée par { $who }
ar-allow-dispensing = Autoriser la vente
ar-freeze = Geler la vente
ar-settings = Paramètres
ar-time-zone = Fuseau horaire
ar-add-location = Ajouter le site
ar-packages = Forfaits
ar-slug = Identifiant
ar-data = Données
ar-rate = Débit
ar-shared = Partagé
ar-valid = Validité
ar-on-sale = en vente
ar-retired = retiré
ar-edit = Modifier
ar-slug-help = Identifiant (lettres, chiffres, tirets)
ar-price-help = Prix (en unités de la devise, par ex. 5.00)
ar-currency = Devise (ISO 4217)
ar-add-package = Ajouter le forfait et l'envoyer à tous les routeurs

## Audit log and event log
log-audit = Journal d'audit
log-events = Journal des événements
log-events-ledger = Journal des événements (registre des tickets)
log-time = Heure (UTC)
log-event = Événement
log-action = Action
log-token = Ticket
log-target = Cible
log-detail = Détail
log-nothing = Rien n'a été enregistré.
log-newer = Plus récents
log-older = Plus anciens

## One package
pk-title = Forfait { $name }
pk-profile = Profil
pk-help = prix en { $currency }. L'enregistrement envoie le catalogue à tous les routeurs ;
pk-routers-page = la page des routeurs
pk-help-end = indique lesquels l'ont reçu. Les tickets déjà vendus gardent leur prix de vente.
pk-time-limit = Limite de temps (minutes)
pk-data-limit = Limite de données (Mo)
pk-rate-limit = Limite de débit (par ex. 2M/5M)
pk-shared-users = Utilisateurs simultanés
pk-valid-for = Valable (heures après la première connexion)
pk-lock-to-mac = Verrouiller sur le premier appareil (chaque ticket vendu désormais ne fonctionne que sur l'appareil qui s'y connecte en premier)
pk-on-sale = En vente (décochez pour le retirer)
pk-save = Enregistrer et envoyer à tous les routeurs

## Location settings
lo-title = Paramètres de { $name }
lo-settings = paramètres
lo-cash-threshold = Écart de caisse qui lève une alerte
lo-cash-threshold-zero = 0 : tout écart
lo-refund-approval = Remboursements que les employés peuvent rendre sans gérant
lo-refund-approval-zero = 0 : tout remboursement en exige un
lo-close-time = Heure de clôture quotidienne (HH:MM, locale)
lo-time-zone = Fuseau horaire (par ex. Africa/Abidjan, ou +01:00)
lo-save = Enregistrer

## Confirming a drastic action
cf-title = Confirmer
cf-help = Cela prend effet immédiatement et est inscrit au journal d'audit à votre nom.
cf-type = Tapez
cf-to-confirm = pour confirmer
cf-router = Routeur
cf-location = Site
cf-disable-all = Désactiver tous les tickets de ce routeur
cf-logout-all = Déconnecter tout le monde sur ce routeur
cf-revoke = Révoquer l'agent de ce routeur
cf-freeze = Geler la vente sur ce site
cf-thaw = Autoriser de nouveau la vente sur ce site
cf-name-mismatch = Le nom saisi ne correspond pas ; rien n'a été fait.
cf-word-and-reason = Tapez le mot affiché et indiquez un motif ; rien n'a été fait.

## Agent releases
rl-title = Versions de l'agent
rl-roll-out = Déployer { $version }
rl-release = La version
rl-for = pour
rl-goes-to = va vers
rl-percent-of = { $percent } % des routeurs :
rl-routers = routeur(s).
rl-confirm-help = Chacun reçoit une commande de mise à jour immédiatement, ou à sa reconnexion. Cela est inscrit au journal d'audit à votre nom.
rl-none-in-percent = Aucun routeur ne tombe encore dans ce pourcentage.
rl-signed-offline = Les versions sont signées hors ligne avec
rl-no-key-held = le serveur ne détient jamais la clé de signature.
rl-checked = Les envois sont vérifiés avec la clé publique des versions dans
rl-unchecked = Le serveur n'a pas de clé publique des versions
rl-unchecked-end = il stocke donc les envois sans vérification ; chaque agent vérifie la signature avant l'installation.
rl-versions-only = Les routeurs indiquent la version de leur agent mais pas leur cible : les chiffres ci-dessous ne comparent que les versions.
rl-bytes = { $n } octets
rl-uploaded-col = Envoyée
rl-uploaded-by = { $when } par { $who }
rl-counts = { $current } l'exécutent · { $older } exécutent une version plus ancienne · { $unknown } inconnus, sur { $routers }
rl-behind = En retard
rl-version-unknown = version inconnue
rl-offline = hors ligne
rl-commands = Commandes de déploiement
rl-not-rolled-out = Pas encore déployée.
rl-percent-label = Pourcentage des routeurs (1–100)
rl-agents-label = ou identifiants d'agents, séparés par des virgules ou des espaces
rl-roll-out-button = Déployer…
rl-no-releases = Aucune version envoyée pour l'instant.
rl-upload-title = Envoyer une version
rl-binary = Binaire de l'agent
rl-version-label = Version (MAJEURE.MINEURE.CORRECTIF)
rl-target = Cible
rl-signature = Signature (hex,
rl-from = de
rl-upload = Envoyer
rl-uploaded = Version { $version } envoyée.
rl-rolling-out = Version { $version } en cours de déploiement.
rl-version-mismatch = La version saisie ne correspond pas ; rien n'a été fait.

## Users
us-user = Utilisateur
us-role = Rôle
us-locations = Sites
us-change = Modifier
us-active = actif
us-end-sessions = Fermer les sessions
us-new-password = Nouveau mot de passe
us-new-password-for = Nouveau mot de passe pour { $name }
us-reset-password = Réinitialiser le mot de passe
us-location-of = Site de { $name }
us-language-of = Langue de { $name }
us-none = aucun
us-set-location = Définir le site
us-set-language = Définir la langue
us-new-user = Nouvel utilisateur
us-password-help = Mot de passe (au moins 8 caractères)
us-create = Créer
us-created = Utilisateur { $name } créé.
us-sessions-ended = { $n } session(s) de { $name } fermée(s).
us-updated = Utilisateur { $name } mis à jour.
us-not-yourself = Vous ne pouvez pas désactiver votre propre compte.

## Alert kinds
alert-kind-rogue_token = Ticket non émis par mtm
alert-kind-tampered_token = Ticket altéré
alert-kind-reused_token = Ticket réutilisé
alert-kind-cash_short = Manque en caisse
alert-kind-cash_over = Excédent en caisse
alert-kind-dispense_outside_shift = Vente hors service
alert-kind-dispense_wrong_location = Vente sur un autre site
alert-kind-router_silent = Routeur muet
alert-kind-witness_mismatch = Le témoin des points de contrôle est en désaccord

## Alert summaries (arguments as raised; $router is the router's agent id)
alert-msg-tampered = le ticket { $code } sur le routeur { $router } diffère du registre : { $fields }
alert-msg-rogue-user = l'utilisateur hotspot { $user } sur le routeur { $router } n'a pas été émis par mtm ({ $reason })
alert-msg-rogue-session = la session de { $user } sur le routeur { $router } n'a aucun ticket émis ({ $reason })
alert-msg-rogue-logged = le routeur { $router } a journalisé une session de { $user }, que mtm n'a pas émise ({ $reason })
alert-msg-rogue-in-use = l'utilisateur hotspot { $user } sur le routeur { $router } est utilisé mais n'a pas été émis par mtm ({ $reason })
alert-msg-counters-reset = les compteurs du ticket { $code } ont été remis à zéro sur le routeur { $router }
alert-msg-beyond-package = le ticket { $code } a été utilisé au-delà de son forfait { $package }
alert-msg-beyond-validity = le ticket { $code } a été utilisé après la fin de sa période de validité
alert-msg-after-end = le ticket { $code } a été utilisé sur le routeur { $router } alors qu'il était { $state }
alert-msg-cash-short = manque en caisse de { $amount } à la clôture du service
alert-msg-cash-over = excédent en caisse de { $amount } à la clôture du service
alert-msg-dispense-no_open_shift = vente refusée : aucun service ouvert
alert-msg-dispense-shift_at_other_location = vente refusée : le service est ouvert sur un autre site
alert-msg-dispense-not_a_location_of_staff = vente refusée : cet employé ne travaille pas sur ce site
alert-msg-router-silent = le routeur { $router } est muet depuis { $seconds } s pendant un service ouvert
alert-msg-router-never-reported = le routeur { $router } n'a jamais rien signalé, pendant un service ouvert
alert-msg-witness-missing = { $chain } : lignes { $from }–{ $to } manquantes : la base s'arrête à la ligne { $last }, mais un point de contrôle signé le { $signed } ({ $source }) compte { $to } lignes ; tronquée, ou restaurée depuis une sauvegarde plus ancienne
alert-msg-witness-missing-older = { $chain } : lignes { $from }–{ $to } manquantes : la base s'arrête à la ligne { $last }, mais un point de contrôle signé le { $signed } ({ $source }) compte { $to } lignes ; sa tête est celle observée le { $older } : restaurée depuis une sauvegarde de ce moment ?
alert-msg-witness-forked = { $chain } : historique divergent à la ligne { $row } ou avant : la ligne de la base a pour empreinte { $found }…, mais un point de contrôle signé le { $signed } ({ $source }) indique { $said }…
alert-msg-witness-unverified = un point de contrôle venant de { $source } n'est pas cru : { $why }
alert-duty-nobody = sans personne en service
alert-duty-one = pendant le service de { $name }
alert-duty-many = pendant le service de { $names }
alert-reason-no_mtm_comment = sans commentaire mtm
alert-reason-malformed_mtm_comment = commentaire mtm mal formé
alert-reason-unknown_token = ticket inconnu
alert-reason-code_mismatch = code d'un autre ticket
alert-reason-token_for_another_router = ticket d'un autre routeur
alert-reason-trial_session = connexion d'essai
alert-reason-session_without_user = session sans utilisateur
alert-reason-seen_in_router_log = vu dans le journal du routeur

## Refusals of typed input (shown over the form; the API answers the English)
err-in-field = { $field } : { $error }
err-no-location = vous n'êtes rattaché à aucun site
err-choose-location = choisissez un site
err-clock-in-first = prenez d'abord votre service : aucun service ouvert sur votre site
err-batch-count = le nombre doit être compris entre 1 et { $max }
err-not-a-currency = « { $code } » n'est pas un code de devise ISO 4217 (p. ex. USD, KES, XOF)
err-whole-number = tapez un nombre entier
err-whole-number-up-to = tapez un nombre entier jusqu'à { $max }
err-shift-already-open = votre service est déjà ouvert
err-zone-bad-name = le fuseau horaire « { $name } » n'est ni UTC, ni un décalage fixe comme +01:00, ni un nom comme Africa/Lagos
err-zone-unknown = le fuseau horaire « { $name } » n'est pas dans la base des fuseaux
money-empty = saisissez un montant
money-not-a-number = « { $text } » n'est pas un montant : tapez des chiffres, avec une virgule pour les décimales, p. ex. { $example }
money-too-many-decimals = { $currency } a { $max } décimale(s) ; « { $text } » en a plus
money-negative = le montant ne peut pas être négatif
money-too-large = le montant est trop grand

## Refusals of forms: releases, enrollment, reports, after-sales, channels, the store
err-username-length = un nom d'utilisateur compte de 1 à { $max } caractères
err-username-characters = un nom d'utilisateur n'utilise que des lettres a-z, des chiffres et la ponctuation ASCII (sans espaces)
err-password-length = un mot de passe compte de { $min } à { $max } caractères
err-password-spaces = un mot de passe ne peut pas être fait que d'espaces
err-password-run = un mot de passe ne peut pas être un seul caractère répété ni une suite de touches du clavier
err-password-common = ce mot de passe fait partie des plus courants ; choisissez-en un autre
err-password-username = un mot de passe ne peut pas être le nom d'utilisateur
err-alert-note-required = une note est nécessaire pour résoudre
err-alert-resolved = l'alerte est déjà résolue
err-unknown-action = action inconnue
err-as-reason = indiquez un motif
err-as-reason-long = le motif dépasse { $max } caractères
err-as-refund-only-void = seule une annulation rembourse de l'argent
err-as-extension-too-large = cette prolongation est trop grande
err-as-extend-nothing = ajoutez du temps ou des données
err-as-replace-code = un remplacement a besoin d'un nouveau code
err-as-refund-above-price = le remboursement dépasse le prix de vente du ticket
err-as-note-long = la note dépasse { $max } caractères
err-as-decided = cette demande a déjà été tranchée
err-as-no-time-limit = ce ticket n'a pas de limite de temps à prolonger
err-as-no-data-limit = ce ticket n'a pas de limite de données à prolonger
err-as-router-not-enrolled = le routeur du ticket n'est pas enregistré (enregistrez-le, ou remplacez celui qui a été révoqué)
err-approve-or-reject = approuvez ou refusez
err-enroll-ttl = la durée de validité du code (ttl_s) doit être comprise entre { $min } et { $max } secondes
err-revoke-broker = révoqué dans mtm (ses messages sont refusés), mais le broker n'a pas supprimé son identifiant : { $reason } ; révoquez-le à nouveau quand le broker répondra
err-router-broker-login = le routeur { $router } a été créé, mais le broker MQTT n'a pas accepté son identifiant : { $reason } ; enregistrez-le avec un code à usage unique quand le broker répondra
err-channel-name = donnez au canal un nom de 100 caractères au plus
err-channel-kind = le type doit être webhook, telegram, ntfy ou email
err-channel-email = un canal e-mail a besoin d'une adresse e-mail
err-channel-url = la destination doit être une URL
err-channel-http-url = la destination doit être une URL http(s) de 2000 caractères au plus
err-channel-chat-id = un canal Telegram a besoin de l'identifiant de la discussion (chat id)
err-channel-severity = la gravité minimale doit être info, warning ou critical
err-channel-location = ce site n'existe pas
err-date = la date « { $date } » n'existe pas ou n'est pas au format AAAA-MM-JJ
err-form-too-large = le formulaire est trop volumineux
err-unknown-language = langue inconnue « { $code } »
err-frozen = la vente est gelée sur ce site par un administrateur : { $reason }
err-release-key-file = { $file } dans le dossier des versions ne contient pas de clé publique (hex)
err-release-empty = le fichier binaire est vide
err-release-version = la version « { $version } » n'est pas au format MAJEUR.MINEUR.CORRECTIF (p. ex. 1.2.3)
err-release-target = la cible doit ressembler à aarch64-linux
err-release-signature-hex = la signature doit faire 64 octets en hexadécimal
err-release-bad-signature = la signature ne correspond pas à la clé des versions : signez ce binaire avec cette version et cette cible
err-release-no-agent = aucun routeur n'a l'identifiant d'agent « { $agent } »
err-release-percent-or-agents = donnez soit un pourcentage (1-100), soit une liste non vide d'identifiants d'agents
err-upload-unreadable = l'envoi n'a pas pu être lu : { $reason }
err-upload-choose-binary = choisissez le binaire de l'agent à envoyer
err-rollout-percent = le pourcentage doit être un nombre entier de 1 à 100
err-rollout-either = donnez soit un pourcentage, soit des identifiants d'agents, ni les deux ni aucun
err-close-time = l'heure de clôture doit être au format HH:MM (00:00-23:59), reçu « { $time } »
err-report-not-intact = ce rapport ne correspond plus à son empreinte
err-report-signed-off = le rapport est déjà validé
err-not-your-location = vous n'êtes pas rattaché à ce site
err-no-open-shift = aucun service ouvert
err-no-enrolled-router = ce site n'a aucun routeur enregistré (enregistrez-le, ou remplacez celui qui a été révoqué)
err-close-shift-why = indiquez pourquoi le service est clôturé à la place de l'employé
err-shift-closed = le service est déjà clôturé
err-user-exists = cet utilisateur existe déjà (sous le nom { $existing })
err-agent-id = l'identifiant d'agent doit compter de 1 à 64 lettres ASCII, chiffres, - ou _
err-key-format = une clé doit compter 64 caractères hexadécimaux
err-key-invalid = ce n'est pas une clé publique ed25519 valide
err-package-fields = un forfait a besoin d'un identifiant court (a-z, 0-9, -), d'un nom, d'un prix >= 0 et d'une devise de 3 lettres
err-package-name = un forfait a besoin d'un nom (jusqu'à { $max } caractères)
err-shared-users-range = doit être compris entre 1 et { $max }
err-text-too-long = plus de { $max } caractères
err-amount-range = doit être compris entre 0 et { $max } en sous-unités (centimes)
err-duration-range = ne peut pas dépasser dix ans
err-data-range = ne peut pas dépasser un pétaoctet (1 000 000 000 Mo)
err-amounts-overflow = les montants s'additionnent au-delà de ce qui peut être compté
err-location-fields = le nom et le fuseau horaire sont obligatoires
err-exists-user = cet utilisateur existe déjà
err-exists-user-location = cet utilisateur est déjà rattaché à ce site
err-exists-router = ce routeur existe déjà (nom ou identifiant d'agent déjà pris)
err-exists-package = ce forfait existe déjà
err-exists-location = ce site existe déjà
err-exists-enrollment-code = ce code d'enregistrement existe déjà
noun-user = utilisateur
noun-user-location = rattachement de l'utilisateur à un site
noun-router = routeur
noun-package = forfait
noun-location = site
noun-enrollment-code = code d'enregistrement
err-refers-to-nothing = le formulaire renvoie à un élément qui n'existe plus ({ $what })
err-as-not-allowed = { $kind ->
        [void] un ticket { $state } ne peut pas être annulé
        [replace] un ticket { $state } ne peut pas être remplacé
        [extend] un ticket { $state } ne peut pas être prolongé
        [reprint] un ticket { $state } ne peut pas être réimprimé
        [disable] un ticket { $state } ne peut pas être désactivé
       *[enable] un ticket { $state } ne peut pas être activé
    }

## E-mails and notices
mail-kind = type
mail-severity = gravité
mail-location = site
mail-router = routeur
mail-raised-at = levée le
mail-alert-id = identifiant de l'alerte
mail-alert-open = Ouvrez /manager/alerts pour la prendre en compte.
mail-report-tag = rapport mtm
mail-report-id = identifiant du rapport
mail-report-open = Ouvrez { $path } pour le lire et le valider.
mail-report-summary = Rapport quotidien du { $date }, { $location } : { $vouchers ->
        [one] { $vouchers } ticket
       *[other] { $vouchers } tickets
    }, { $expected } attendus, écart de caisse { $variance }, { $alerts ->
        [one] { $alerts } alerte
       *[other] { $alerts } alertes
    }
mail-report-unreadable = Rapport quotidien du { $date } (ouvrez-le pour lire les chiffres)
mail-ntfy-report = rapport quotidien mtm
mail-ntfy-alert = alerte mtm { $severity }

# Pages of a long list.
page-next = Page suivante
page-previous = Page précédente
md-vouchers-shown = Les tickets { $first } à { $last } sur { $total } sont affichés ; le CSV les contient tous.
