"""What people write in the simulated groups: a small corpus of sentences per topic and language
(en, uk, ru, es), and the sentences any group's chat has (greetings, thanks, questions).

:func:`chat_message` draws a message from it with the caller's ``random.Random`` (seeded, so a
seed gives the same chat): most messages are about the group's topic, some are the small talk
of any chat, a few are two sentences. The summaries and the weekly digests then read as a real
group's would, in its language.
"""

from __future__ import annotations

import random

CHAT_LANGUAGES: tuple[str, ...] = ("en", "uk", "ru", "es")
"""The languages the corpus is written in (a message in any other falls back to English)."""
TOPIC_SHARE = 0.65
"""Share of messages about the group's topic; the rest is small talk."""
TWO_SENTENCES = 0.12
"""Share of messages that add a second sentence."""

SMALL_TALK: dict[str, tuple[str, ...]] = {
    "en": (
        "Good morning, everyone!",
        "Thanks, that really helped.",
        "Agreed, same experience here.",
        "Can someone share the link again?",
        "I'll try it tonight and report back.",
        "Does anyone know if the meetup is still on this week?",
        "Welcome to the new folks!",
        "Sorry, missed the discussion yesterday. What did I miss?",
        "Good point, I hadn't thought of that.",
        "Haha, been there.",
        "Saving this for later.",
        "Not sure I agree, but I see why you'd do it that way.",
        "Quick reminder: please keep the chat on topic.",
        "Have a great weekend, all!",
    ),
    "uk": (
        "Всім доброго ранку!",
        "Дякую, це справді допомогло.",
        "Згоден, у мене так само.",
        "Можете ще раз скинути посилання?",
        "Спробую сьогодні ввечері й напишу, що вийшло.",
        "Хтось знає, чи зустріч цього тижня в силі?",
        "Вітаємо новеньких!",
        "Вибачте, пропустив учорашню розмову. Що я проґавив?",
        "Слушна думка, я про це не подумав.",
        "Ха-ха, знайома ситуація.",
        "Збережу собі на потім.",
        "Не впевнений, що згоден, але розумію, чому так.",
        "Нагадую: давайте тримати чат у темі.",
        "Гарних усім вихідних!",
    ),
    "ru": (
        "Всем доброе утро!",
        "Спасибо, это правда помогло.",
        "Согласен, у меня так же.",
        "Можете ещё раз скинуть ссылку?",
        "Попробую сегодня вечером и напишу, что получилось.",
        "Кто-нибудь знает, встреча на этой неделе в силе?",
        "Добро пожаловать новичкам!",
        "Извините, пропустил вчерашнее обсуждение. Что я пропустил?",
        "Хорошая мысль, я об этом не подумал.",
        "Ха-ха, знакомо.",
        "Сохраню себе на потом.",
        "Не уверен, что согласен, но понимаю, почему так.",
        "Напоминаю: давайте держать чат в теме.",
        "Хороших всем выходных!",
    ),
    "es": (
        "¡Buenos días a todos!",
        "Gracias, me ayudó mucho.",
        "De acuerdo, a mí me pasa lo mismo.",
        "¿Alguien puede volver a pasar el enlace?",
        "Lo pruebo esta noche y os cuento.",
        "¿Alguien sabe si la quedada de esta semana sigue en pie?",
        "¡Bienvenidos a los nuevos!",
        "Perdón, me perdí la conversación de ayer. ¿Qué me perdí?",
        "Buen punto, no lo había pensado.",
        "Jaja, me ha pasado.",
        "Me lo guardo para luego.",
        "No sé si estoy de acuerdo, pero entiendo por qué lo haces así.",
        "Recordatorio: mantengamos el chat en el tema, por favor.",
        "¡Buen fin de semana a todos!",
    ),
}
"""What any group's chat says, per language."""

TOPIC_SENTENCES: dict[str, dict[str, tuple[str, ...]]] = {
    "python": {
        "en": (
            "Has anyone moved their project to uv yet? Installs are so much faster.",
            "Is asyncio.TaskGroup worth it over gather for a small scraper?",
            "Pandas or polars for a 2 GB CSV? Pandas keeps running out of memory.",
            "Type hints caught a real bug in my code today, I'm convinced now.",
            "Django or FastAPI for a small internal API with an admin page?",
        ),
        "uk": (
            "Хтось уже переніс проєкт на uv? Встановлення набагато швидше.",
            "Чи варто брати asyncio.TaskGroup замість gather для невеликого парсера?",
            "Pandas чи polars для CSV на 2 ГБ? Pandas постійно вилітає по пам'яті.",
            "Анотації типів сьогодні знайшли в мене справжній баг, тепер я переконаний.",
            "Django чи FastAPI для невеликого внутрішнього API з адмінкою?",
        ),
        "ru": (
            "Кто-нибудь уже перевёл проект на uv? Установка намного быстрее.",
            "Стоит ли брать asyncio.TaskGroup вместо gather для небольшого парсера?",
            "Pandas или polars для CSV на 2 ГБ? Pandas постоянно падает по памяти.",
            "Аннотации типов сегодня нашли у меня настоящий баг, теперь я убеждён.",
            "Django или FastAPI для небольшого внутреннего API с админкой?",
        ),
        "es": (
            "¿Alguien ha pasado ya su proyecto a uv? Las instalaciones van mucho más rápido.",
            "¿Merece la pena asyncio.TaskGroup en vez de gather para un scraper pequeño?",
            "¿Pandas o polars para un CSV de 2 GB? Pandas se queda sin memoria.",
            "Los type hints me encontraron un bug real hoy, ya me han convencido.",
            "¿Django o FastAPI para una API interna pequeña con panel de administración?",
        ),
    },
    "rust": {
        "en": (
            "The borrow checker finally clicked for me after a week of fighting it.",
            "Is tokio overkill for a simple CLI that makes a few HTTP calls?",
            "Clippy suggested a change that made the loop twice as fast.",
            "How do you explain lifetimes to someone coming from Python?",
            "Just published my first crate, feedback very welcome!",
        ),
        "uk": (
            "Borrow checker нарешті мені відкрився після тижня боротьби з ним.",
            "Tokio — це не забагато для простої CLI з кількома HTTP-запитами?",
            "Clippy запропонував зміну, і цикл став удвічі швидшим.",
            "Як пояснити лайфтайми людині, яка прийшла з Python?",
            "Щойно опублікував свій перший crate, буду радий відгукам!",
        ),
        "ru": (
            "Borrow checker наконец-то мне поддался после недели борьбы.",
            "Tokio — не перебор для простой CLI с парой HTTP-запросов?",
            "Clippy предложил правку, и цикл стал вдвое быстрее.",
            "Как объяснить лайфтаймы человеку, который пришёл из Python?",
            "Только что опубликовал свой первый crate, буду рад отзывам!",
        ),
        "es": (
            "El borrow checker por fin me hizo clic tras una semana peleándome con él.",
            "¿Tokio es demasiado para un CLI sencillo que hace unas pocas peticiones HTTP?",
            "Clippy me sugirió un cambio y el bucle va el doble de rápido.",
            "¿Cómo le explicáis los lifetimes a alguien que viene de Python?",
            "Acabo de publicar mi primer crate, ¡se agradecen comentarios!",
        ),
    },
    "crypto": {
        "en": (
            "Bitcoin is flat again today, anyone still buying the dip?",
            "Which hardware wallet do you trust for long-term storage?",
            "Careful with that airdrop link, it looks like a scam to me.",
            "Staking rewards dropped again this month on my exchange.",
            "Never keep all your coins on one exchange, learned that the hard way.",
        ),
        "uk": (
            "Біткоїн сьогодні знову стоїть, хтось ще докуповує на просіданні?",
            "Якому апаратному гаманцю ви довіряєте для довгого зберігання?",
            "Обережно з тим посиланням на ейрдроп, схоже на шахрайство.",
            "Винагорода за стейкінг на моїй біржі цього місяця знову впала.",
            "Ніколи не тримайте всі монети на одній біржі, я це вивчив на власному досвіді.",
        ),
        "ru": (
            "Биткоин сегодня опять стоит, кто-то ещё докупает на просадке?",
            "Какому аппаратному кошельку вы доверяете для долгого хранения?",
            "Осторожно с той ссылкой на эйрдроп, похоже на развод.",
            "Награды за стейкинг на моей бирже в этом месяце опять упали.",
            "Никогда не держите все монеты на одной бирже, я это понял на своём опыте.",
        ),
        "es": (
            "Bitcoin está plano otra vez hoy, ¿alguien sigue comprando en la bajada?",
            "¿En qué monedero físico confiáis para guardar a largo plazo?",
            "Cuidado con ese enlace del airdrop, a mí me parece una estafa.",
            "Las recompensas de staking volvieron a bajar este mes en mi exchange.",
            "Nunca tengáis todas las monedas en un solo exchange, lo aprendí por las malas.",
        ),
    },
    "books": {
        "en": (
            "Finished the novel last night, that ending caught me off guard.",
            "Does anyone prefer audiobooks for long fantasy series?",
            "The new translation reads much better than the old one.",
            "What should we pick for next month's book?",
            "The library finally has the second volume, I'm next in line.",
        ),
        "uk": (
            "Дочитала роман учора ввечері, фінал мене просто приголомшив.",
            "Хтось слухає аудіокниги замість читання довгих фентезі-серій?",
            "Новий переклад читається набагато краще за старий.",
            "Що оберемо на наступний місяць?",
            "У бібліотеці нарешті з'явився другий том, я в черзі наступна.",
        ),
        "ru": (
            "Дочитала роман вчера вечером, концовка меня просто ошеломила.",
            "Кто-нибудь слушает аудиокниги вместо чтения длинных фэнтези-серий?",
            "Новый перевод читается намного лучше старого.",
            "Что выберем на следующий месяц?",
            "В библиотеке наконец появился второй том, я в очереди следующая.",
        ),
        "es": (
            "Terminé la novela anoche, el final me pilló por sorpresa.",
            "¿Alguien prefiere audiolibros para las sagas de fantasía largas?",
            "La nueva traducción se lee mucho mejor que la antigua.",
            "¿Qué libro elegimos para el mes que viene?",
            "La biblioteca por fin tiene el segundo tomo, soy la siguiente en la lista.",
        ),
    },
    "sport": {
        "en": (
            "Intervals at the stadium tomorrow at 7, who's in?",
            "My pace fell apart after kilometre 30, the wall is real.",
            "New trail shoes arrived, first run in them this weekend.",
            "Don't skip the stretching after long runs, my knees agree.",
            "Registration for the autumn half marathon is open.",
        ),
        "uk": (
            "Інтервали на стадіоні завтра о 7, хто з нами?",
            "Після тридцятого кілометра темп розвалився, стіна таки існує.",
            "Прийшли нові кросівки для трейлу, перша пробіжка в них у вихідні.",
            "Не пропускайте розтяжку після довгих пробіжок, мої коліна підтверджують.",
            "Відкрилася реєстрація на осінній півмарафон.",
        ),
        "ru": (
            "Интервалы на стадионе завтра в 7, кто с нами?",
            "После тридцатого километра темп развалился, стена реально существует.",
            "Пришли новые кроссовки для трейла, первая пробежка в них на выходных.",
            "Не пропускайте растяжку после длинных пробежек, мои колени подтверждают.",
            "Открылась регистрация на осенний полумарафон.",
        ),
        "es": (
            "Series en el estadio mañana a las 7, ¿quién se apunta?",
            "Mi ritmo se vino abajo después del kilómetro 30, el muro existe.",
            "Me llegaron las zapatillas de trail, las estreno este finde.",
            "No os saltéis los estiramientos después de las tiradas largas, lo dicen mis rodillas.",
            "Ya están abiertas las inscripciones para la media maratón de otoño.",
        ),
    },
    "jobs": {
        "en": (
            "Remote backend role, EU time zones, salary range in the post.",
            "How long did your last interview process take? Mine has five rounds.",
            "Tip: always ask about the contract type before the final interview.",
            "Anyone relocated with a company visa recently? How long did it take?",
            "Got the offer! Thanks to everyone who reviewed my resume.",
        ),
        "uk": (
            "Віддалена вакансія бекенд-розробника, часові пояси ЄС, зарплатна вилка в пості.",
            "Скільки тривав ваш останній процес співбесід? У мене п'ять етапів.",
            "Порада: завжди питайте про тип контракту до фінальної співбесіди.",
            "Хтось нещодавно релокувався з робочою візою? Скільки це зайняло?",
            "Отримав офер! Дякую всім, хто переглядав моє резюме.",
        ),
        "ru": (
            "Удалённая вакансия бэкенд-разработчика, часовые пояса ЕС, вилка в посте.",
            "Сколько длился ваш последний процесс собеседований? У меня пять этапов.",
            "Совет: всегда спрашивайте про тип контракта до финального собеседования.",
            "Кто-нибудь недавно релоцировался по рабочей визе? Сколько это заняло?",
            "Получил оффер! Спасибо всем, кто смотрел моё резюме.",
        ),
        "es": (
            "Puesto de backend en remoto, husos horarios de la UE, rango salarial en el post.",
            "¿Cuánto duró vuestro último proceso de entrevistas? El mío tiene cinco rondas.",
            "Consejo: preguntad siempre por el tipo de contrato antes de la entrevista final.",
            "¿Alguien se ha mudado con visado de empresa hace poco? ¿Cuánto tardó?",
            "¡Me han hecho la oferta! Gracias a todos los que revisasteis mi currículum.",
        ),
    },
    "food": {
        "en": (
            "My sourdough starter finally doubled overnight!",
            "How long do you proof croissant dough in a cold kitchen?",
            "Swapped half the flour for rye and the crumb came out great.",
            "Does anyone bake with fresh yeast, or only dry?",
            "Sharing the recipe for yesterday's butter buns in a minute.",
        ),
        "uk": (
            "Моя закваска нарешті подвоїлася за ніч!",
            "Скільки ви розстоюєте тісто для круасанів у прохолодній кухні?",
            "Замінила половину борошна на житнє, м'якушка вийшла чудова.",
            "Хтось пече на живих дріжджах чи тільки на сухих?",
            "Зараз скину рецепт учорашніх булочок на маслі.",
        ),
        "ru": (
            "Моя закваска наконец-то удвоилась за ночь!",
            "Сколько вы расстаиваете тесто для круассанов на прохладной кухне?",
            "Заменила половину муки на ржаную, мякиш получился отличный.",
            "Кто-нибудь печёт на живых дрожжах или только на сухих?",
            "Сейчас скину рецепт вчерашних булочек на масле.",
        ),
        "es": (
            "¡Mi masa madre por fin ha doblado su tamaño durante la noche!",
            "¿Cuánto dejáis fermentar la masa de cruasanes en una cocina fría?",
            "Cambié la mitad de la harina por centeno y la miga quedó genial.",
            "¿Alguien hornea con levadura fresca o solo con seca?",
            "En un momento comparto la receta de los bollos de mantequilla de ayer.",
        ),
    },
    "games": {
        "en": (
            "The demo is up on Steam, would love some playtesters.",
            "The boss on level 3 is way too hard, or is it just me?",
            "Anyone joining the game jam this weekend?",
            "Redrew all the sprites, the pixel art looks much cleaner now.",
            "Release date moved to next month, we need more time for polish.",
        ),
        "uk": (
            "Демо вже є в Steam, шукаємо плейтестерів.",
            "Бос на третьому рівні занадто складний, чи це тільки я так?",
            "Хтось іде на геймджем цих вихідних?",
            "Перемалював усі спрайти, піксель-арт тепер виглядає набагато чистіше.",
            "Реліз переносимо на наступний місяць, потрібно ще відполірувати.",
        ),
        "ru": (
            "Демо уже в Steam, ищем плейтестеров.",
            "Босс на третьем уровне слишком сложный, или это только я так?",
            "Кто-нибудь идёт на геймджем в эти выходные?",
            "Перерисовал все спрайты, пиксель-арт теперь выглядит намного чище.",
            "Релиз переносим на следующий месяц, нужно ещё отполировать.",
        ),
        "es": (
            "La demo ya está en Steam, buscamos gente para probarla.",
            "El jefe del nivel 3 es demasiado difícil, ¿o solo me pasa a mí?",
            "¿Alguien se apunta a la game jam de este fin de semana?",
            "Redibujé todos los sprites, el pixel art se ve mucho más limpio.",
            "El lanzamiento pasa al mes que viene, necesitamos más tiempo para pulirlo.",
        ),
    },
    "data": {
        "en": (
            "Our dashboard query went from 40 s to 2 s after moving to polars.",
            "How do you version datasets in your team?",
            "The model overfits as soon as I add the new features.",
            "Is a notebook fine for a weekly report, or should it be a pipeline?",
            "Anyone used ClickHouse for metrics at this scale?",
        ),
        "uk": (
            "Запит для дашборда прискорився з 40 до 2 секунд після переходу на polars.",
            "Як ви версіонуєте датасети в команді?",
            "Модель перенавчається, щойно я додаю нові ознаки.",
            "Для щотижневого звіту вистачить ноутбука чи краще зробити пайплайн?",
            "Хтось використовував ClickHouse для метрик такого масштабу?",
        ),
        "ru": (
            "Запрос для дашборда ускорился с 40 до 2 секунд после перехода на polars.",
            "Как вы версионируете датасеты в команде?",
            "Модель переобучается, как только я добавляю новые признаки.",
            "Для еженедельного отчёта хватит ноутбука или лучше сделать пайплайн?",
            "Кто-нибудь использовал ClickHouse для метрик такого масштаба?",
        ),
        "es": (
            "La consulta del dashboard pasó de 40 s a 2 s al cambiar a polars.",
            "¿Cómo versionáis los datasets en vuestro equipo?",
            "El modelo sobreajusta en cuanto añado las nuevas variables.",
            "¿Vale un notebook para un informe semanal o debería ser un pipeline?",
            "¿Alguien ha usado ClickHouse para métricas a esta escala?",
        ),
    },
    "photo": {
        "en": (
            "Golden hour walk on Saturday, meeting by the old bridge.",
            "Which lens do you take for street photography, 35 or 50?",
            "Shot a whole roll of film yesterday, can't wait to develop it.",
            "The tripod made a huge difference for the night shots.",
            "Any tips for portraits in harsh midday light?",
        ),
        "uk": (
            "Прогулянка на золоту годину в суботу, збираємося біля старого мосту.",
            "Який об'єктив берете на вуличну зйомку, 35 чи 50?",
            "Учора відзняв цілу плівку, не можу дочекатися проявки.",
            "Штатив дуже допоміг з нічними кадрами.",
            "Є поради щодо портретів у різке полуденне світло?",
        ),
        "ru": (
            "Прогулка на золотой час в субботу, собираемся у старого моста.",
            "Какой объектив берёте на уличную съёмку, 35 или 50?",
            "Вчера отснял целую плёнку, не могу дождаться проявки.",
            "Штатив очень помог с ночными кадрами.",
            "Есть советы по портретам в жёстком полуденном свете?",
        ),
        "es": (
            "Paseo a la hora dorada el sábado, quedamos junto al puente viejo.",
            "¿Qué objetivo lleváis para fotografía callejera, 35 o 50?",
            "Ayer disparé un carrete entero, tengo ganas de revelarlo.",
            "El trípode marcó una gran diferencia en las fotos nocturnas.",
            "¿Algún consejo para retratos con la luz dura del mediodía?",
        ),
    },
    "startup": {
        "en": (
            "We closed our pre-seed round this week!",
            "How many months of runway do you keep before fundraising?",
            "Churn went down once we fixed onboarding.",
            "Looking for feedback on our pitch deck, DM me.",
            "Hiring our first engineer: what should the offer look like?",
        ),
        "uk": (
            "Цього тижня ми закрили пре-сід раунд!",
            "Скільки місяців runway ви тримаєте перед залученням інвестицій?",
            "Відтік користувачів зменшився, щойно ми виправили онбординг.",
            "Шукаю фідбек на наш пітч-дек, пишіть у приват.",
            "Наймаємо першого інженера: яким має бути офер?",
        ),
        "ru": (
            "На этой неделе мы закрыли пре-сид раунд!",
            "Сколько месяцев runway вы держите перед привлечением инвестиций?",
            "Отток пользователей снизился, как только мы починили онбординг.",
            "Ищу фидбек на наш питч-дек, пишите в личку.",
            "Нанимаем первого инженера: каким должен быть оффер?",
        ),
        "es": (
            "¡Esta semana cerramos nuestra ronda pre-seed!",
            "¿Cuántos meses de runway tenéis antes de salir a levantar dinero?",
            "El churn bajó en cuanto arreglamos el onboarding.",
            "Busco opiniones sobre nuestro pitch deck, escribidme por privado.",
            "Contratamos a nuestro primer ingeniero: ¿cómo debería ser la oferta?",
        ),
    },
    "lang": {
        "en": (
            "Who wants to practise speaking on Thursday evening?",
            "Is there a good way to learn idioms without memorising lists?",
            "My accent is the hardest part, grammar is fine.",
            "Looking for a Spanish partner, I can help with English.",
            "Today's word: serendipity. Use it in a sentence!",
        ),
        "uk": (
            "Хто хоче попрактикувати розмовну мову в четвер увечері?",
            "Є хороший спосіб вивчати ідіоми без зубріння списків?",
            "Найважче мені дається вимова, граматика нормально.",
            "Шукаю партнера з іспанської, можу допомогти з українською.",
            "Слово дня: «смаколик». Складіть із ним речення!",
        ),
        "ru": (
            "Кто хочет попрактиковать разговорную речь в четверг вечером?",
            "Есть хороший способ учить идиомы без зубрёжки списков?",
            "Тяжелее всего мне даётся произношение, с грамматикой нормально.",
            "Ищу партнёра по испанскому, могу помочь с русским.",
            "Слово дня: «закадычный». Составьте с ним предложение!",
        ),
        "es": (
            "¿Quién quiere practicar conversación el jueves por la tarde?",
            "¿Hay alguna forma buena de aprender modismos sin memorizar listas?",
            "Lo más difícil para mí es el acento, la gramática bien.",
            "Busco compañero de intercambio para ucraniano, ayudo con español.",
            "Palabra del día: «sobremesa». ¡Usadla en una frase!",
        ),
    },
    "devops": {
        "en": (
            "The deploy failed again because of a stale Helm value.",
            "Does anyone run Terraform plans in CI for every pull request?",
            "Grafana alert fired at 3 am, turned out to be a full disk.",
        ),
        "uk": (
            "Деплой знову впав через застаріле значення в Helm.",
            "Хтось запускає terraform plan у CI на кожен пул-реквест?",
            "Алерт у Grafana спрацював о третій ночі, виявилося, що закінчився диск.",
        ),
        "ru": (
            "Деплой опять упал из-за устаревшего значения в Helm.",
            "Кто-нибудь запускает terraform plan в CI на каждый пул-реквест?",
            "Алерт в Grafana сработал в три ночи, оказалось, что кончился диск.",
        ),
        "es": (
            "El despliegue volvió a fallar por un valor de Helm desactualizado.",
            "¿Alguien ejecuta terraform plan en CI en cada pull request?",
            "Saltó una alerta de Grafana a las 3 de la mañana: disco lleno.",
        ),
    },
    "plants": {
        "en": (
            "My monstera has a new leaf, first one since spring!",
            "How often do you water succulents in winter?",
            "Repotted everything this weekend, my back hurts.",
        ),
        "uk": (
            "У моєї монстери новий листок, перший з весни!",
            "Як часто ви поливаєте сукуленти взимку?",
            "На вихідних пересадила всі рослини, болить спина.",
        ),
        "ru": (
            "У моей монстеры новый лист, первый с весны!",
            "Как часто вы поливаете суккуленты зимой?",
            "На выходных пересадила все растения, болит спина.",
        ),
        "es": (
            "¡Mi monstera tiene una hoja nueva, la primera desde la primavera!",
            "¿Cada cuánto regáis las suculentas en invierno?",
            "Este finde trasplanté todas las plantas, me duele la espalda.",
        ),
    },
    "film": {
        "en": (
            "The festival programme is out, lots of good documentaries.",
            "Saw the sequel yesterday, the soundtrack carried it.",
            "Which director should we cover at the next screening?",
        ),
        "uk": (
            "Вийшла програма фестивалю, багато хороших документалок.",
            "Учора подивився сиквел, саундтрек його витягнув.",
            "Якого режисера обговоримо на наступному показі?",
        ),
        "ru": (
            "Вышла программа фестиваля, много хороших документалок.",
            "Вчера посмотрел сиквел, саундтрек его вытянул.",
            "Какого режиссёра обсудим на следующем показе?",
        ),
        "es": (
            "Ya salió el programa del festival, muchos documentales buenos.",
            "Ayer vi la secuela, la banda sonora la salvó.",
            "¿Qué director comentamos en la próxima proyección?",
        ),
    },
    "frontend": {
        "en": (
            "Switched the build to Vite, dev server starts instantly now.",
            "How do you test accessibility in your components?",
            "The bundle grew 200 KB after adding that date library.",
        ),
        "uk": (
            "Перевів збірку на Vite, дев-сервер тепер стартує миттєво.",
            "Як ви тестуєте доступність своїх компонентів?",
            "Бандл виріс на 200 КБ після додавання тієї бібліотеки для дат.",
        ),
        "ru": (
            "Перевёл сборку на Vite, дев-сервер теперь стартует мгновенно.",
            "Как вы тестируете доступность своих компонентов?",
            "Бандл вырос на 200 КБ после добавления той библиотеки для дат.",
        ),
        "es": (
            "Pasé el build a Vite, el servidor de desarrollo arranca al instante.",
            "¿Cómo probáis la accesibilidad de vuestros componentes?",
            "El bundle creció 200 KB al añadir esa librería de fechas.",
        ),
    },
}
"""Per topic (``sandbox.synth.vocabulary.GROUP_NAMES``) and language: what its members write
about."""


def _sentence(rng: random.Random, topic: str, language: str) -> str:
    about = TOPIC_SENTENCES.get(topic, {}).get(language)
    if about and rng.random() < TOPIC_SHARE:
        return rng.choice(about)
    return rng.choice(SMALL_TALK[language])


def chat_message(rng: random.Random, topic: str, language: str) -> str:
    """A message of a group about ``topic`` written in ``language`` (English when the corpus
    lacks it)."""
    if language not in CHAT_LANGUAGES:
        language = "en"
    text = _sentence(rng, topic, language)
    if rng.random() < TWO_SENTENCES:
        more = _sentence(rng, topic, language)
        if more != text:
            text = f"{text} {more}"
    return text
