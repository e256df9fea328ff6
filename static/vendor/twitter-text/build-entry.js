import parseTweet from "twitter-text/dist/esm/parseTweet";
window.twttr = window.twttr || {};
window.twttr.txt = { parseTweet: parseTweet };
