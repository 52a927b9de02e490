"""Stopwords for the summary keywords: English, Russian, Ukrainian and Spanish (lower case).

Besides function words: greetings, thanks and "anyone"-words, which chats are full of and
which say nothing about what a chat discusses.
"""

from __future__ import annotations

ENGLISH = """
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't down during each few for from further get got had hadn't has hasn't have
haven't having he he'd he'll he's her here here's hers herself him himself his how how's i i'd
i'll i'm i've if in into is isn't it it's its itself just let's like me more most mustn't my
myself no nor not now of off ok okay on once only or other ought our ours ourselves out over
own same shan't she she'd she'll she's should shouldn't so some such than that that's the their
theirs them themselves then there there's these they they'd they'll they're they've this those
through to too under until up very was wasn't we we'd we'll we're we've were weren't what
what's when when's where where's which while who who's whom why why's will with won't would
wouldn't yes yeah you you'd you'll you're you've your yours yourself yourselves
anyone anybody anything everyone everybody everything someone somebody something nothing thanks
thank please hello hey guys morning evening tried think still really
"""

RUSSIAN = """
а без более бы был была были было быть в вам вас весь во вот все всего всех вы где да даже
для до его ее её если есть еще ещё же за здесь и из или им их к как ко когда который кто ли
либо мне может мы на над надо наш не него нее неё нет ни них но ну о об однако он она они оно
от очень по под при с со так также такой там те тем то того тоже той только том ты у уже хотя
чего чей чем что чтобы чье чья эта эти это этот я просто вообще сейчас тут себя себе мой моя
мои свой своя свои будет будут нам нас меня тебя тебе его ему ей ним ней кто-то что-то
кто-нибудь что-нибудь всем спасибо привет пожалуйста доброе утро кажется
"""

UKRAINIAN = """
а або аж але б би був була були було бути в вам вас весь ви від він вона вони воно все всі
де для до є ж за з зі і й із їх їй його як який яка які коли хто що щоб та так також там те
тим то тобто тут у уже вже ще це ці цей ця чи ні на над не нема немає ну о от по під при про
собі себе свій своя свої так таки теж ти тільки треба цього цьому через я мене мені нам нас
мій моя мої наш наша наші просто зараз дуже буде будуть можна
хтось щось всім дякую привіт будь ласка доброго ранку здається
"""

SPANISH = """
a al algo algún alguna algunas alguno algunos ante antes aquí así aun aunque bien cada como
con contra cual cuando de del desde donde dos el ella ellas ellos en entre era es esa ese eso
esta está están este esto estos fue ha hace hasta hay la las le les lo los más me mi mis muy
nada ni no nos nosotros o os otra otro para pero poco por porque que qué quien se sea ser si
sí sin sobre su sus también te tengo tiene todo todos tu tú un una unos uno vosotros y ya yo
alguien gracias hola buenos días todos vale jaja
"""

STOPWORDS: frozenset[str] = frozenset(
    word for block in (ENGLISH, RUSSIAN, UKRAINIAN, SPANISH) for word in block.split()
)
